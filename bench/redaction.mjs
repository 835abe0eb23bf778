// Redaction throughput: a 100 MB body streamed over loopback HTTP (64 KiB writes) and read through (a) a
// pass-through Transform and (b) the redacting stream with 20 secrets, in the same run, over the same bytes. The body
// is JSON-like text with a few secrets embedded raw, in base64 and url-encoded. The in-memory rate of each stream on
// its own is printed too. Targets: >= 0.5x pass-through and >= 300 MB/s.
import { createServer, get } from 'node:http';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Redactor, SecretValue } from '@agentsecrets/core';

const TOTAL = Number(process.env.BENCH_MB ?? 100) * 1024 * 1024;
const CHUNK = 64 * 1024;
const secrets = Array.from(
  { length: 20 },
  (_, i) =>
    new SecretValue(
      `KEY_${i}`,
      Buffer.from(`sk_live_${i}_${Math.random().toString(36).slice(2)}${'Zq'.repeat(8)}`),
    ),
);

// Pre-build the chunks so generating data costs nothing in either run.
const words = [
  '"id"',
  '"amount"',
  '1234',
  '"currency"',
  '"usd"',
  '"object"',
  '"balance"',
  'true',
  'null',
  '"livemode"',
];
let text = '';
while (text.length < 4 * 1024 * 1024)
  text += `{${words.map((w, i) => `${w}:${words[(i * 7) % words.length]}`).join(',')}}\n`;
const base = Buffer.from(text);
const chunks = [];
for (let off = 0, i = 0; off < TOTAL; off += CHUNK, i += 1) {
  const c = Buffer.from(base.subarray(off % (base.length - CHUNK), (off % (base.length - CHUNK)) + CHUNK));
  if (i % 200 === 0) {
    const s = secrets[i % 20].bytes();
    const forms = [s, Buffer.from(s.toString('base64')), Buffer.from(encodeURIComponent(s.toString()))];
    forms[i % 3].copy(c, 1000);
  }
  chunks.push(c);
}

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  let i = 0;
  const write = () => {
    while (i < chunks.length) {
      if (!res.write(chunks[i++])) return res.once('drain', write);
    }
    res.end();
  };
  write();
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/body`;
const overHttp = () => new Promise((resolve) => get(url, resolve));
const inMemory = async () => Readable.from(chunks, { objectMode: false });

async function run(makeTransform, source) {
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let bytes = 0;
  const t0 = performance.now();
  await pipeline(
    await source(),
    makeTransform(),
    new Writable({
      write(chunk, _e, cb) {
        bytes += chunk.length;
        cb();
      },
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return {
    mbps: TOTAL / 2 ** 20 / seconds,
    bytes,
    rssGrowth: (process.memoryUsage().rss - rssBefore) / 2 ** 20,
  };
}

const t0 = performance.now();
const redactor = new Redactor(secrets);
const buildMs = performance.now() - t0;
const rounds = [];
for (let r = 0; r < 3; r += 1) {
  const pass = await run(() => new PassThrough(), overHttp);
  let streamRef;
  const red = await run(() => {
    streamRef = redactor.createStream();
    return streamRef;
  }, overHttp);
  rounds.push({ pass, red, count: streamRef.count });
}
const memPass = await run(() => new PassThrough(), inMemory);
const memRed = await run(() => redactor.createStream(), inMemory);
server.close();
const best = (k) => Math.max(...rounds.map((r) => r[k].mbps));
console.log(
  `redaction, ${TOTAL / 2 ** 20} MB in ${CHUNK / 1024} KiB chunks, 20 secrets (${redactor.size} patterns, built in ${buildMs.toFixed(2)} ms)`,
);
for (const [i, r] of rounds.entries()) {
  console.log(
    `  round ${i + 1}: pass-through ${r.pass.mbps.toFixed(0)} MB/s, redacting ${r.red.mbps.toFixed(0)} MB/s (${r.count} redactions, RSS +${r.red.rssGrowth.toFixed(1)} MiB)`,
  );
}
console.log(
  `  in memory (no socket): pass-through ${memPass.mbps.toFixed(0)} MB/s, redacting ${memRed.mbps.toFixed(0)} MB/s`,
);
console.log(
  `  best over HTTP: redacting ${best('red').toFixed(0)} MB/s = ${(best('red') / best('pass')).toFixed(2)}x pass-through (targets >= 0.5x and >= 300 MB/s)`,
);
