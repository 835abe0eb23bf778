import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodedForms, MIN_REDACTABLE_LENGTH, REDACTION_MARKER } from './forms.js';
import { Redactor } from './redactor.js';

const secret = (name: string, value: string | Buffer) => ({ name, bytes: () => Buffer.from(value) });

async function streamThrough(redactor: Redactor, parts: Buffer[]): Promise<{ out: Buffer; count: number }> {
  const stream = redactor.createStream();
  const chunks: Buffer[] = [];
  await pipeline(
    Readable.from(parts),
    stream,
    new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c);
        cb();
      },
    }),
  );
  return { out: Buffer.concat(chunks), count: stream.count };
}

function splitAt(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    parts.push(data.subarray(at, p));
    at = p;
  }
  parts.push(data.subarray(at));
  return parts.filter((p) => p.length > 0);
}

const VALUE = 'sk_live_4f9a"b\\c/d e+f=g\n0123';

describe('encoded forms', () => {
  it('covers raw, base64 at three offsets in both alphabets, url, JSON and hex', () => {
    const forms = encodedForms(Buffer.from(VALUE)).map((f) => f.toString());
    const bytes = Buffer.from(VALUE);
    expect(forms).toContain(VALUE);
    expect(forms).toContain(bytes.toString('base64'));
    expect(forms).toContain(bytes.toString('base64url'));
    expect(forms).toContain(encodeURIComponent(VALUE));
    expect(forms).toContain(encodeURIComponent(VALUE).replace(/%20/g, '+'));
    expect(forms).toContain(JSON.stringify(VALUE).slice(1, -1));
    expect(forms).toContain(bytes.toString('hex'));
    expect(forms).toContain(bytes.toString('hex').toUpperCase());
    expect(forms.every((f) => f.length >= MIN_REDACTABLE_LENGTH)).toBe(true);
    expect(new Set(forms).size).toBe(forms.length);
  });
});

describe('the redactor', () => {
  const redactor = new Redactor([secret('K', VALUE), secret('SHORT', 'abc')]);

  it('reports values too short to redact and never prints a value', () => {
    expect(redactor.skipped).toEqual(['SHORT']);
    expect(inspect(redactor)).not.toContain('sk_live');
    expect(JSON.stringify(redactor)).not.toContain('sk_live');
  });

  it('redacts each form embedded anywhere, including base64 inside a larger blob at every offset', () => {
    const bytes = Buffer.from(VALUE);
    for (let pad = 0; pad < 6; pad += 1) {
      const blob = Buffer.concat([Buffer.alloc(pad, 0x41), bytes, Buffer.from('tail bytes')]);
      for (const alphabet of ['base64', 'base64url'] as const) {
        const { output, count } = redactor.redactString(`x=${blob.toString(alphabet)};`);
        expect(count, `${alphabet} pad ${pad}`).toBe(1);
        expect(output).toContain(REDACTION_MARKER);
      }
    }
    const text = [
      VALUE,
      JSON.stringify({ v: VALUE }),
      encodeURIComponent(VALUE),
      bytes.toString('hex').toUpperCase(),
    ].join(' | ');
    const { output, count } = redactor.redactString(text);
    expect(count).toBe(4);
    expect(output).not.toContain('sk_live');
    expect(output).not.toContain(bytes.toString('hex').toUpperCase().slice(0, 16));
  });

  it('redacts a value split at every chunk boundary, and one byte at a time', async () => {
    const data = Buffer.from(`before ${VALUE} middle ${Buffer.from(VALUE).toString('base64')} after`);
    const whole = redactor.redactBuffer(data).output;
    for (let cut = 0; cut <= data.length; cut += 1) {
      expect((await streamThrough(redactor, splitAt(data, [cut]))).out.equals(whole), `cut ${cut}`).toBe(
        true,
      );
    }
    const bytes = [...data].map((b) => Buffer.from([b]));
    const dripped = await streamThrough(redactor, bytes);
    expect(dripped.out.equals(whole)).toBe(true);
    expect(dripped.count).toBe(2);
  });

  it('holds back only a possible prefix: an SSE event is emitted before the stream ends', async () => {
    const stream = redactor.createStream();
    const seen: string[] = [];
    stream.on('data', (c: Buffer) => seen.push(c.toString()));
    stream.write('event: a\ndata: hello\n\n');
    await new Promise((r) => setImmediate(r));
    expect(seen.join('')).toBe('event: a\ndata: hello\n\n');
    stream.write('data: sk_li');
    await new Promise((r) => setImmediate(r));
    expect(seen.join('')).toBe('event: a\ndata: hello\n\ndata: ');
    stream.end('ve_nope\n');
    await new Promise((r) => stream.on('end', r));
    expect(seen.join('')).toBe('event: a\ndata: hello\n\ndata: sk_live_nope\n');
  });

  it('passes everything through untouched when there is nothing to redact', async () => {
    const empty = new Redactor([]);
    expect(empty.size).toBe(0);
    const data = Buffer.from('anything at all');
    expect((await streamThrough(empty, [data])).out.equals(data)).toBe(true);
  });
});

describe('properties', () => {
  const secretValue = fc.uint8Array({ minLength: 8, maxLength: 40 }).filter((v) => new Set(v).size > 3);
  const filler = fc.uint8Array({ maxLength: 200 });

  it('no form of a secret survives, wherever it is and however the stream is cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        secretValue,
        fc.array(fc.tuple(filler, fc.nat(30)), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(2000), { maxLength: 6 }),
        async (value, pieces, cuts) => {
          const forms = encodedForms(value);
          const data = Buffer.concat(
            pieces.flatMap(([fill, which]) => [Buffer.from(fill), forms[which % forms.length]!]),
          );
          const r = new Redactor([{ name: 'P', bytes: () => Buffer.from(value) }]);
          const { out } = await streamThrough(r, splitAt(data, cuts));
          // Redacting the output again finds nothing: no complete form of the value is left.
          expect(r.redactBuffer(out).count).toBe(0);
          expect(out.equals(r.redactBuffer(data).output)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('bytes that are not a secret pass through unchanged, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.nat(4000), { maxLength: 8 }),
        async (data, cuts) => {
          // The secret uses bytes (0xF5-0xFF never start a UTF-8 sequence) that the data cannot contain.
          const r = new Redactor([
            secret('Z', Buffer.from([0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd])),
          ]);
          const clean = Buffer.from(data.map((b) => (b >= 0xf5 ? 0x20 : b)));
          // Its encoded forms are 12+ specific ASCII characters: random data holds them with negligible probability.
          const { out, count } = await streamThrough(r, splitAt(clean, cuts));
          expect(count).toBe(0);
          expect(out.equals(clean)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
