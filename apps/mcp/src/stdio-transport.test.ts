import { PassThrough } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineTransport } from './stdio-transport.js';

function wired(maxLineBytes?: number) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const transport = new LineTransport(stdin, stdout, maxLineBytes === undefined ? {} : { maxLineBytes });
  const messages: JSONRPCMessage[] = [];
  const replies: unknown[] = [];
  transport.onmessage = (m) => messages.push(m);
  let out = '';
  stdout.on('data', (c: Buffer) => {
    out += c.toString('utf8');
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      replies.push(JSON.parse(out.slice(0, nl)));
      out = out.slice(nl + 1);
    }
  });
  return { stdin, transport, messages, replies };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('LineTransport', () => {
  it('reads the same messages however the bytes are split into chunks', async () => {
    const message = fc.record({
      jsonrpc: fc.constant('2.0' as const),
      id: fc.nat(),
      method: fc.stringMatching(/^[a-z/]{1,20}$/),
      params: fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 20 })),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(message, { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        async (ms, cuts) => {
          const { stdin, transport, messages, replies } = wired(4096);
          await transport.start();
          const bytes = Buffer.from(ms.map((m) => `${JSON.stringify(m)}\n`).join(''), 'utf8');
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          let at = 0;
          for (const p of [...points, bytes.length]) {
            stdin.write(bytes.subarray(at, p));
            at = p;
          }
          await flush();
          expect(messages).toEqual(ms);
          expect(replies).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('answers garbage, non-JSON-RPC and oversized lines, and keeps reading', async () => {
    const { stdin, transport, messages, replies } = wired(64);
    let closed = false;
    transport.onclose = () => {
      closed = true;
    };
    await transport.start();
    stdin.write('nope\n{"id":"a","method":1}\n');
    stdin.write(`{"jsonrpc":"2.0","id":1,"method":"${'x'.repeat(40)}`);
    stdin.write(`${'y'.repeat(40)}"}\n\r\n`);
    stdin.write('{"jsonrpc":"2.0","id":2,"method":"ok"}\n');
    await flush();
    expect(replies).toEqual([
      { jsonrpc: '2.0', id: null, error: { code: -32700, message: expect.any(String) } },
      { jsonrpc: '2.0', id: 'a', error: { code: -32600, message: expect.any(String) } },
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: expect.stringMatching(/too large/) } },
    ]);
    expect(messages).toEqual([{ jsonrpc: '2.0', id: 2, method: 'ok' }]);
    stdin.end();
    await flush();
    expect(closed).toBe(true);
  });
});
