// dashboard-page.js - the live dashboard as a browser shows it (called by
// autograder/tests/dashboard-test): opens URL in headless Chromium (Debian's
// chromium, through slides/'s puppeteer-core), waits for the page's first
// updates, prints "ready", then reads the five numbers off the page every
// 100 ms for SECONDS and prints each reading as a JSON line. --shot FILE
// saves a PNG of the page halfway through (while the load runs).
//
//   node dashboard-page.js URL SECONDS [--shot FILE]
//
// Exit 0 when it could read the page; 1 when the page never updated (its
// EventSource got nothing); 2 when Chromium could not run.
'use strict';
const path = require('path');

const repo = path.resolve(__dirname, '..', '..');
const puppeteer = require(path.join(repo, 'slides', 'node_modules', 'puppeteer-core'));

// Runs in the page: what a person reads there.
function reading() {
  const v = (id) => {
    const e = document.getElementById(id);
    return e && e.dataset.value !== undefined && e.dataset.value !== ''
      ? Number(e.dataset.value) : null;
  };
  const line = document.querySelector('#rps-chart polyline');
  return {
    samples: Number(document.body.dataset.samples || 0),
    rps: v('rps'), lag: v('lag'), busy: v('busy'), queued: v('queued'),
    conns: v('conns'), size: v('size'),
    points: line ? (line.getAttribute('points') || '').split(' ').filter(Boolean).length : 0,
    cooks_on: document.querySelectorAll('#cooks i.on').length,
    state: document.getElementById('state').textContent,
  };
}

async function main() {
  const args = process.argv.slice(2);
  const s = args.indexOf('--shot');
  const shot = s >= 0 ? args.splice(s, 2)[1] : null;
  const [url, seconds] = args;
  let browser;
  try {
    browser = await puppeteer.launch({
      executablePath: process.env.CHROME_PATH || '/usr/bin/chromium',
      args: ['--no-sandbox'],
    });
  } catch (e) {
    console.error(`chromium did not start: ${e.message}`);
    process.exit(2);
  }
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 900, height: 500 });
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    try {
      await page.waitForFunction(() => Number(document.body.dataset.samples || 0) >= 3,
        { timeout: 5000 });
    } catch (e) {
      console.log(JSON.stringify(await page.evaluate(reading)));
      console.error('the page got no updates from /events within 5 s');
      process.exitCode = 1;
      return;
    }
    console.log('ready');
    const start = Date.now(), end = start + Number(seconds) * 1000;
    let shotTaken = !shot;
    while (Date.now() < end) {
      console.log(JSON.stringify(await page.evaluate(reading)));
      if (!shotTaken && Date.now() - start >= (end - start) / 2) {
        await page.screenshot({ path: shot });
        shotTaken = true;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(2);
});
