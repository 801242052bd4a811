// layout-check.js - every slide of the rendered decks, as a person sees it:
// each deck opened in headless Chromium (Debian's chromium) at 1280x720, each
// slide shown in turn, and measured. A slide fails when
//   - something lies past the slide's edge, or low enough to reach the band
//     of the bottom margin where the page number sits (and Marp's controls
//     appear when a presenter moves the mouse);
//   - a code block or a table is wider than its box (it would scroll);
//   - an image did not load (a broken link to img/).
//
//   node layout-check.js html/DECK.html... [--shots DIR]
//
// --shots DIR writes a PNG of every slide (DIR/DECK-NN.png), controls hidden.
// Prints one line per failing slide and a summary per deck; exit 1 when a
// slide fails, 2 when Chromium could not run.
'use strict';
const fs = require('fs');
const path = require('path');
const puppeteer = require('puppeteer-core');

const SLACK = 2; // px: anti-aliasing and rounding, not layout

// Runs in the page: the problems of slide i (1-based), in slide pixels.
// The page number (Marp's section::after) sits in the bottom margin; the band
// it occupies, across the whole slide, is where Marp's controls appear too.
function measure(i, slack) {
  const svg = document.querySelectorAll('svg[data-marpit-svg]')[i - 1];
  const sec = svg.querySelector('section');
  const box = sec.getBoundingClientRect();
  const k = box.width / 1280;
  const num = getComputedStyle(sec, '::after');
  const band = box.bottom - (parseFloat(num.bottom) + parseFloat(num.height)) * k;
  const problems = [];
  const name = (el) => `${el.tagName.toLowerCase()} "${(el.textContent || el.getAttribute('src') || '').trim().slice(0, 40)}"`;
  for (const el of sec.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const out = {
      'into the page number\'s band at the bottom': (r.bottom - band) / k,
      'past the right edge': (r.right - box.right) / k,
      'past the left edge': (box.left - r.left) / k,
      'past the top edge': (box.top - r.top) / k,
    };
    for (const [where, px] of Object.entries(out))
      if (px > slack) problems.push(`${name(el)} ${Math.round(px)} px ${where}`);
    if (['PRE', 'TABLE'].includes(el.tagName) && el.scrollWidth > el.clientWidth + slack)
      problems.push(`${name(el)} is ${el.scrollWidth - el.clientWidth} px wider than its box`);
    if (el.tagName === 'IMG' && !(el.complete && el.naturalWidth > 0))
      problems.push(`${name(el)} did not load`);
  }
  const title = (sec.querySelector('h1,h2') || {}).textContent || '';
  // An element's children repeat its overflow: keep the outermost few.
  return { title, problems: [...new Set(problems)].slice(0, 4) };
}

async function checkDeck(browser, file, shots) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 720 });
  await page.goto('file://' + path.resolve(file), { waitUntil: 'networkidle0' });
  await page.addStyleTag({ content: '.bespoke-marp-osc{display:none!important}' });
  const n = await page.evaluate(() => document.querySelectorAll('svg[data-marpit-svg]').length);
  const deck = path.basename(file, '.html');
  let bad = 0;
  for (let i = 1; i <= n; i++) {
    await page.evaluate((i) => { location.hash = '#' + i; }, i);
    // Two frames: the hash change shows the slide, the next one lays it out.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const res = await page.evaluate(measure, i, SLACK);
    if (res.problems.length) {
      bad++;
      console.log(`bad   ${deck} slide ${i} "${res.title.trim()}":`);
      for (const p of res.problems) console.log(`        ${p}`);
    }
    if (shots)
      await page.screenshot({ path: path.join(shots, `${deck}-${String(i).padStart(2, '0')}.png`) });
  }
  await page.close();
  console.log(`${bad ? 'bad ' : 'ok  '}  ${deck}: ${n} slides, ${bad} with content past its edges or into the page number's band`);
  return bad;
}

(async () => {
  const args = process.argv.slice(2);
  const s = args.indexOf('--shots');
  const shots = s >= 0 ? args.splice(s, 2)[1] : null;
  if (!args.length) {
    console.error('usage: node layout-check.js html/DECK.html... [--shots DIR]');
    process.exit(2);
  }
  if (shots) fs.mkdirSync(shots, { recursive: true });
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROME_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox', '--allow-file-access-from-files'],
  });
  let bad = 0;
  for (const file of args) bad += await checkDeck(browser, file, shots);
  await browser.close();
  process.exit(bad ? 1 : 0);
})().catch((e) => {
  console.error(`layout-check: ${e.message}`);
  process.exit(2);
});
