// What the redactor's release rule adds to an event stream. An upstream in its own process writes an event every
// 20 ms with the time it wrote it; a client reads the stream directly and through the proxy (its own process, 20
// secrets) and notes when each event's text has arrived whole. Printed: p50 and p95 of that delay, direct and
// through the proxy, for SSE events (each ends with a blank line: let go at once), JSON lines (each line end is a
// barrier) and plain text with no line endings (let go only after a pause, all but the last 256 bytes).
// The rule: what a reader has depends only on line endings, sizes and time, never on whether bytes begin a secret.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

const N = Number(process.env.BENCH_EVENTS ?? 100);

function start(script, args = []) {
  const child = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  return { child, next: async () => JSON.parse((await once(lines, 'line'))[0]) };
}

const upstream = start('./support/event-stream.mjs');
const { port } = await upstream.next();
const proxy = start('./support/proxy-server.mjs', [String(port)]);
const { url: proxyUrl, token } = await proxy.next();

/** Delays in ms between an event's writing and the arrival of its whole text. */
async function delays(path, viaProxy) {
  const target = `http://127.0.0.1:${port}${path}?n=${N}&every=20`;
  const res = viaProxy
    ? await request(`${proxyUrl}/proxy`, {
        headers: { 'x-as-session-token': token, 'x-as-target-url': target },
      })
    : await request(target);
  const out = [];
  let text = '';
  for await (const chunk of res.body) {
    const at = performance.timeOrigin + performance.now();
    text += chunk.toString();
    // An event is whole once the text after it has begun (or the stream has ended): its time field is complete.
    for (const m of text.matchAll(/"?t"?[=:](\d+\.\d+)[,\]]/g)) out.push(at - Number(m[1]));
    const last = Math.max(text.lastIndexOf(']'), text.lastIndexOf(','));
    text = text.slice(last + 1);
  }
  return out;
}

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
console.log(
  `event streams: ${N} events 20 ms apart, direct and through the proxy (20 secrets); delay from write to arrival`,
);
for (const [label, path] of [
  ['SSE events', '/sse'],
  ['JSON lines', '/ndjson'],
  ['plain text, no line endings', '/text'],
]) {
  await delays(path, true); // warm up both paths
  const direct = await delays(path, false);
  const proxied = await delays(path, true);
  const d50 = pct(direct, 0.5);
  const p50 = pct(proxied, 0.5);
  console.log(
    `  ${label.padEnd(28)} direct p50 ${d50.toFixed(2)} ms, p95 ${pct(direct, 0.95).toFixed(2)} ms; proxy p50 ${p50.toFixed(2)} ms, p95 ${pct(proxied, 0.95).toFixed(2)} ms; added p50 ${(p50 - d50).toFixed(2)} ms (${proxied.length}/${N} events)`,
  );
}
upstream.child.kill();
proxy.child.stdin.write('exit\n');
