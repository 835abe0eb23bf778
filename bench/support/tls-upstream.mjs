// A small HTTPS JSON API on 127.0.0.1 with a CA of its own; prints {port, caPem} as one JSON line.
import { createServer } from 'node:https';
import { createCa, createLeafMinter } from '@agentsecrets/local-ca';

const ca = await createCa('bench upstream CA');
const leaf = await (await createLeafMinter(ca)).mint('127.0.0.1');
const body = JSON.stringify({ object: 'balance', available: [{ amount: 1000, currency: 'usd' }] });
const server = createServer(
  { cert: leaf.certPem, key: leaf.keyPem, keepAliveTimeout: 60_000 },
  (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  },
);
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: server.address().port, caPem: ca.certPem }));
});
