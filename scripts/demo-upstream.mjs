// A small local API for the first-run demo: it answers with what it received, credentials included — the kind of
// careless echo AgentSecrets redacts. Prints its port, then serves until killed.
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    `${JSON.stringify({ you_sent: { method: req.method, url: req.url, authorization: req.headers.authorization ?? null } }, null, 2)}\n`,
  );
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(server.address().port);
});
