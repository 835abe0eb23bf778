// The least a Node proxy can do — node:http in, undici out, body piped back, no policy, no injection, no
// redaction, no audit — as the ceiling the AgentSecrets proxy is measured against. Prints its URL.
import { createServer } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Agent } from 'undici';

const agent = new Agent({ keepAliveTimeout: 10_000 });
const server = createServer(async (req, res) => {
  const target = new URL(req.headers['x-as-target-url']);
  const up = await agent.request({
    origin: target.origin,
    path: target.pathname,
    method: 'GET',
    headers: { authorization: 'Bearer x' },
  });
  res.writeHead(up.statusCode, { 'content-type': up.headers['content-type'] });
  await pipeline(up.body, res);
});
server.listen(0, '127.0.0.1', () =>
  console.log(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })),
);
