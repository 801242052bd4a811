// Lab 7's Node baselines (bench/zip.sh): the npm packages people reach for,
// used the way their READMEs show, both streaming.
//   node node-zip.js extract ZIP DIR   fs.createReadStream(ZIP).pipe(unzipper.Extract({ path: DIR }))
//   node node-zip.js create SRC OUT    archiver('zip', { zlib: { level: 6 } }): SRC's files
//                                      streamed to fs.createWriteStream(OUT)
// The packages come from build/bench-node (bench/zip.sh installs them there
// and sets NODE_PATH). Exits 0 once everything is written (unzipper's
// 'close' comes after the last file's stream closed; archiver's output
// stream's 'close' after its last byte), 1 on any error.
const fs = require('fs');

function fail(err) {
  console.error(`node-zip: ${err && err.message ? err.message : err}`);
  process.exit(1);
}

const [op, from, to] = process.argv.slice(2);
if (op === 'extract' && from && to) {
  const unzipper = require('unzipper');
  fs.createReadStream(from)
    .on('error', fail)
    .pipe(unzipper.Extract({ path: to }))
    .promise()
    .then(() => process.exit(0), fail);
} else if (op === 'create' && from && to) {
  const archiver = require('archiver');
  const out = fs.createWriteStream(to);
  const archive = archiver('zip', { zlib: { level: 6 } });
  out.on('close', () => process.exit(0));
  out.on('error', fail);
  archive.on('error', fail);
  archive.on('warning', fail); // a file that vanished, say: not a fair run
  archive.pipe(out);
  archive.directory(from, false); // names relative to SRC, as zip -r and zipstream
  archive.finalize();
} else {
  console.error('usage: node node-zip.js extract ZIP DIR | create SRC OUT');
  process.exit(2);
}
