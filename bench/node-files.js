// Lab 5's Node baseline (bench/files.sh): the two ways Node serves a file,
// on the reference's routes.
//   node node-files.js --root DIR
//   GET /files/NAME           fs.createReadStream(path).pipe(res): 64 KiB chunks, with backpressure
//   GET /files-buffered/NAME  fs.readFile(path), then res.end(buf): the whole file in memory first
// Both set Content-Length, as the reference does. Prints the same
// "listening on" line as the lab servers so bench/files.sh drives all alike.
const fs = require('fs');
const http = require('http');
const path = require('path');

const i = process.argv.indexOf('--root');
const root = i > 0 ? process.argv[i + 1] : '.';

function notFound(res) {
  res.writeHead(404, { 'Content-Length': 0 });
  res.end();
}

const server = http.createServer((req, res) => {
  const m = /^\/(files|files-buffered)\/([^/]+)$/.exec(req.url);
  if (req.method !== 'GET' || !m || m[2].startsWith('.')) return notFound(res);
  const file = path.join(root, m[2]);
  if (m[1] === 'files-buffered') {
    fs.readFile(file, (err, buf) => {
      if (err) return notFound(res);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': buf.length });
      res.end(buf);
    });
    return;
  }
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) return notFound(res);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': st.size });
    fs.createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));
