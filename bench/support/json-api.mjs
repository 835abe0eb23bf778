// A small JSON API on loopback for the benchmarks: what a typical authenticated API call returns.
import { createServer } from 'node:http';

const body = JSON.stringify({
  object: 'balance',
  available: [{ amount: 1234, currency: 'usd' }],
  livemode: false,
});

/** Starts the API on 127.0.0.1 (a free port); resolves with the server. */
export async function startJsonApi() {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return server;
}
