import { createServer, type Server } from 'node:net';
import { SecretValue } from '@agentsecrets/keychain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowlistEntry } from '../policy/index.js';
import { Redactor } from '../redact/index.js';
import { parseInjectionObject } from '../spec/spec.js';
import { InjectionEngine } from './engine.js';

// An HTTP parser hands header values over as latin1 text, one character per byte; the proxy writes them back the same
// way. A value's UTF-8 bytes echoed in a header must be found as those bytes, not as the UTF-8 of their latin1 text.
const VALUE = 'pässwort-Ünïcode-0123';
const BYTES = Buffer.from(VALUE, 'utf8');

let upstream: Server;
let port: number;

beforeAll(async () => {
  upstream = createServer((socket) => {
    socket.once('data', () => {
      socket.end(
        Buffer.concat([
          Buffer.from('HTTP/1.1 200 OK\r\nX-Echo: seen '),
          BYTES,
          Buffer.from(' here\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'),
        ]),
      );
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  port = (upstream.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((resolve) => upstream.close(resolve));
});

describe('a secret with non-ASCII bytes echoed in a response header', () => {
  it('is redacted: the bytes passed on do not hold the value', async () => {
    const secret = new SecretValue('PASS', Buffer.from(BYTES));
    const engine = new InjectionEngine({
      policy: { allowlist: () => [parseAllowlistEntry(`http://127.0.0.1:${port}`)], bindings: () => [] },
      secrets: {
        resolve: async () => new Map([['PASS', secret]]),
        stored: async (names) => names,
        redactor: () => new Redactor([secret]),
      },
    });
    const response = await engine.call({
      url: `http://127.0.0.1:${port}/`,
      injections: parseInjectionObject({ bearer: 'PASS' }),
    });
    await response.body.toArray();
    await engine.close();
    const echo = response.headers.find(([name]) => name === 'x-echo')?.[1];
    expect(echo).toBeDefined();
    // As the proxy puts it on the wire (node writes header strings as latin1).
    const wire = Buffer.from(echo!, 'latin1');
    expect(wire.includes(BYTES)).toBe(false);
    expect(wire.toString('latin1')).toMatch(/^seen \S+ here$/);
    expect(response.headerRedactions).toBe(1);
  });
});
