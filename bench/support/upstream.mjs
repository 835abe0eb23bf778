// A small JSON API on loopback for the benchmarks, in its own process. Prints its port.
import { createServer } from 'node:http';

const body = JSON.stringify({
  object: 'balance',
  available: [{ amount: 1234, currency: 'usd' }],
  livemode: false,
});
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
