// An upstream that streams events in its own process: /sse (SSE events), /ndjson (JSON lines) and /text (plain
// text with no line endings, as some token streams are). Each event carries the wall-clock time it was written.
// ?n= events (default 100), ?every= ms apart (default 20). Prints its port.
import { createServer } from 'node:http';

const now = () => performance.timeOrigin + performance.now();
const FORMATS = {
  '/sse': (i) => `event: token\ndata: {"i":${i},"t":${now()},"text":"a token of text"}\n\n`,
  '/ndjson': (i) => `{"i":${i},"t":${now()},"text":"a token of text"}\n`,
  '/text': (i) => `[i=${i} t=${now()}] a token of text `,
};

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const format = FORMATS[url.pathname];
  if (format === undefined) {
    res.writeHead(404).end();
    return;
  }
  const n = Number(url.searchParams.get('n') ?? 100);
  const every = Number(url.searchParams.get('every') ?? 20);
  res.writeHead(200, { 'content-type': url.pathname === '/sse' ? 'text/event-stream' : 'text/plain' });
  let i = 0;
  const timer = setInterval(() => {
    res.write(format(i));
    i += 1;
    if (i === n) {
      clearInterval(timer);
      res.end();
    }
  }, every);
  res.on('close', () => clearInterval(timer));
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
