// The baseline: Node's own http server answering GET / like the lab servers.
// Prints the same "listening on" line so bench/run can drive both alike.
const http = require('http');
const body = 'Hello from the waiter!\n';
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
