// Over 400 lines: the redactor's properties (every encoding, every chunk split, release timing) as one suite beside
// the one module they test.
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inspect } from 'node:util';
import { ENCODINGS, type Encoding, readBack, upper } from '@agentsecrets/testkit';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { REDACTION_MARKER } from './forms.js';
import { type RedactableSecret, type RedactingStream, Redactor } from './redactor.js';

const secret = (name: string, value: string | Uint8Array): RedactableSecret => ({
  name,
  bytes: () => Buffer.from(value),
});

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

function splitAt(data: Buffer, cuts: readonly number[]): Buffer[] {
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

/** The ways `value` can be read back from `data` (see the reference decoders in testkit). */
const formsIn = (data: Buffer, value: Uint8Array) => readBack(data, value);
const encoding = (name: string): Encoding => ENCODINGS.find((e) => e.name === name)!;
/** `value` after the named encodings, innermost first (latin1 in and out: one character per byte). */
const encode = (value: string, ...names: string[]) =>
  names.reduce((text, name) => encoding(name).encode(text)!, Buffer.from(value).toString('latin1'));

const tick = () => new Promise((r) => setImmediate(r));
/** A small deterministic random source for the encoders that escape a random choice of characters. */
function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const VALUE = 'sk_live_4f9a"b\\c/d e+f=g\t0123';
const VALUE_BYTES = Buffer.from(VALUE);

describe('Redactor', () => {
  it('skips values shorter than 8 bytes, reports their names, and leaves such text alone', () => {
    const redactor = new Redactor([
      secret('LONG', VALUE),
      secret('SHORT', 'abc'),
      secret('SEVEN', '1234567'),
      secret('EIGHT', '87654321'),
    ]);
    expect(redactor.skipped).toEqual(['SHORT', 'SEVEN']);
    expect(redactor.redactString('abc 1234567 abc')).toEqual({ output: 'abc 1234567 abc', count: 0 });
    expect(redactor.redactString('pin=87654321;')).toEqual({ output: `pin=${REDACTION_MARKER};`, count: 1 });
  });

  it('cannot print a value: inspect, JSON and the stream state show names and counts only', () => {
    const redactor = new Redactor([secret('K', VALUE), secret('SHORT', 'abc')]);
    const stream = redactor.createStream();
    stream.write(VALUE.slice(0, 12)); // a prefix of the value, held back
    const views = [
      inspect(redactor),
      inspect(redactor, { showHidden: true, depth: Number.POSITIVE_INFINITY, customInspect: false }),
      JSON.stringify(redactor),
      inspect(stream),
      inspect(stream, { showHidden: true, depth: Number.POSITIVE_INFINITY, customInspect: false }),
    ];
    for (const view of views) {
      expect(view).not.toContain('sk_live');
      expect(view).not.toContain(VALUE_BYTES.toString('hex').slice(0, 16));
      expect(view).not.toContain(VALUE_BYTES.toString('base64').slice(0, 12));
    }
    expect(views[0]).toContain('skipped: ["SHORT"]');
    stream.destroy();
  });

  describe('redacts each form, embedded in other text', () => {
    const redactor = new Redactor([secret('K', VALUE)]);
    const cases: Record<string, string> = {
      raw: VALUE,
      'upper case': VALUE.toUpperCase(),
      'base64 std': VALUE_BYTES.toString('base64'),
      'base64 std unpadded': VALUE_BYTES.toString('base64').replace(/=+$/, ''),
      'base64 url': VALUE_BYTES.toString('base64url'),
      'base64 wrapped at 76 columns (MIME)': encode(`${'x'.repeat(70)}${VALUE}`, 'b64-mime'),
      encodeURIComponent: encodeURIComponent(VALUE),
      'encodeURIComponent lower-case': encodeURIComponent(VALUE).replace(/%[0-9A-F]{2}/g, (m) =>
        m.toLowerCase(),
      ),
      'form (+ for space)': new URLSearchParams({ v: VALUE }).toString().slice(2),
      'every byte escaped': [...VALUE_BYTES].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''),
      'twice URL-encoded form body': encode(VALUE, 'form', 'form'),
      'JSON-escaped': JSON.stringify(VALUE).slice(1, -1),
      'JSON with \\/': JSON.stringify(VALUE).slice(1, -1).replace(/\//g, '\\/'),
      'JSON inside JSON (an echo of a JSON body)': JSON.stringify(JSON.stringify({ password: VALUE })),
      'every character \\u-escaped': encode(VALUE, 'json-u-all'),
      'HTML entities': encode(VALUE, 'html'),
      'HTML numeric references': [...VALUE].map((c) => `&#${c.charCodeAt(0)};`).join(''),
      'JSON, then URL, then HTML': encode(VALUE, 'json', 'url', 'html'),
      'base64 of a JSON document, in a JSON string': encode(JSON.stringify({ k: VALUE }), 'b64', 'json'),
      'base64 of base64 of the URL-encoding': encode(VALUE, 'url', 'b64', 'b64'),
      'hex lower': VALUE_BYTES.toString('hex'),
      'hex upper': VALUE_BYTES.toString('hex').toUpperCase(),
    };
    for (const [label, form] of Object.entries(cases)) {
      it(label, () => {
        const { output, count } = redactor.redactString(`{"echo":"${form}","n":1}`);
        expect(count).toBeGreaterThanOrEqual(1);
        expect(output).toContain(REDACTION_MARKER);
        expect(formsIn(Buffer.from(output), VALUE_BYTES)).toEqual([]);
        expect(output.startsWith('{"echo":"')).toBe(true);
        expect(output.endsWith('","n":1}')).toBe(true);
      });
    }

    for (const alphabet of ['base64', 'base64url'] as const) {
      for (let k = 0; k < 3; k += 1) {
        it(`${alphabet} at byte offset ${k} inside a larger blob`, () => {
          for (let trial = 0; trial < 25; trial += 1) {
            const before = randomBytes(k + 3 * (trial % 5));
            const after = randomBytes(1 + (trial % 7));
            const blob = Buffer.concat([before, VALUE_BYTES, after]).toString(alphabet);
            const { output, count } = redactor.redactString(`data=${blob}&more`);
            expect(count).toBe(1);
            expect(formsIn(Buffer.from(output), VALUE_BYTES)).toEqual([]);
            // Everything encoding only the surrounding bytes is kept.
            const keep = Math.floor((4 * before.length) / 3);
            expect(output.startsWith(`data=${blob.slice(0, keep)}`)).toBe(true);
            expect(output).toContain(REDACTION_MARKER);
          }
        });
      }
    }
  });

  it('redacts every composition of up to three standard escapings of a canary with every special character', () => {
    // The canary of the attack review: `"`, `\`, `/`, `+`, `=`, `&`, `<`, `>`, `%` (and a space and a non-ASCII letter).
    const canary = 'p@ss"w0rd\\&<x>%2+/= é9';
    const redactor = new Redactor([secret('CANARY', canary)]);
    const plain = Buffer.from(canary).toString('latin1');
    const random = seeded(7);
    const missed: string[] = [];
    let checked = 0;
    const visit = (text: string, names: string[]) => {
      for (const echo of names.some((n) => n.startsWith('b64')) ? [text] : [text, upper(text)]) {
        const out = redactor.redactBuffer(Buffer.from(`{"echo":"${echo}"}`, 'latin1')).output;
        checked += 1;
        if (formsIn(out, Buffer.from(canary)).length > 0) missed.push(names.join('>'));
      }
      if (names.length === 3) return;
      for (const e of ENCODINGS) {
        // Escaping a random choice of characters cannot be undone under base64 by a precomputed pattern.
        if (e.name.startsWith('b64') && names.some((n) => !encoding(n).deterministic)) continue;
        // A raw line break inside wrapped base64 is skipped only when base64 characters stand before it as they
        // are (see isBarrier): no encoder escapes some letters and digits and leaves the line breaks raw.
        if (!e.deterministic && names.at(-1) === 'b64-mime') continue;
        const next = e.encode(text, random);
        if (next !== undefined) visit(next, [...names, e.name]);
      }
    };
    visit(plain, []);
    expect(checked).toBeGreaterThan(3000);
    expect(missed.slice(0, 20)).toEqual([]);
    // Over 3,000 texts: about a second on an idle machine, several on a loaded one.
  }, 60_000);

  it('replaces overlapping matches as one span, so no whole form is left', () => {
    const redactor = new Redactor([
      secret('A', 'abcdefgh12'),
      secret('B', 'efgh12345678'),
      secret('SHORTER', 'sk_test_abcdefgh'),
      secret('LONGER', 'sk_test_abcdefgh_more'),
    ]);
    expect(redactor.redactString('abcdefgh12345678')).toEqual({ output: REDACTION_MARKER, count: 1 });
    // Same start: the longer one, so no tail of it is left behind.
    expect(redactor.redactString('k=sk_test_abcdefgh_more;')).toEqual({
      output: `k=${REDACTION_MARKER};`,
      count: 1,
    });
    expect(redactor.redactString('k=sk_test_abcdefgh_mor;').output).toBe(`k=${REDACTION_MARKER}_mor;`);
  });

  it('counts every replacement, across secrets and forms', () => {
    const values = ['first-secret-value', 'second/secret+value', 'third secret value!'];
    const redactor = new Redactor(values.map((v, i) => secret(`S${i}`, v)));
    const text = values
      .flatMap((v) => [
        v,
        Buffer.from(v).toString('base64'),
        encodeURIComponent(v),
        Buffer.from(v).toString('hex'),
      ])
      .join(' | ');
    const { output, count } = redactor.redactString(text);
    expect(count).toBe(12);
    expect(output.split(REDACTION_MARKER)).toHaveLength(13);
  });

  it('redacts the password half of a user:password value on its own', () => {
    const redactor = new Redactor([secret('BASIC', 'deploy-bot:correct-horse-battery')]);
    expect(redactor.redactString('pw=correct-horse-battery').output).toBe(`pw=${REDACTION_MARKER}`);
    expect(redactor.redactString(`pw=${encodeURIComponent('correct-horse-battery')}`).count).toBe(1);
    expect(redactor.redactString('user=deploy-bot').count).toBe(0);
  });

  it('redacts a multi-line value piece by piece where a break could not be inside a match', () => {
    const value =
      '{\n  "private_key": "-----BEGIN-----\\nMIIEvQIBADANBg\\n-----END-----",\n  "kid": "k-12345678"\n}';
    const redactor = new Redactor([secret('SA', value)]);
    for (const echo of [value, JSON.stringify({ sa: value }), encodeURIComponent(value)]) {
      const { output } = redactor.redactString(echo);
      expect(output).toContain(REDACTION_MARKER);
      expect(output).not.toContain('MIIEvQIBADANBg');
      expect(output).not.toContain('k-12345678');
    }
  });

  it('takes a Uint8Array, and passes everything through when it has nothing to redact', async () => {
    const redactor = new Redactor([secret('K', VALUE)]);
    const view = new Uint8Array(Buffer.from(`x ${VALUE} y`));
    expect(redactor.redactBuffer(view).output.toString()).toBe(`x ${REDACTION_MARKER} y`);
    const empty = new Redactor([secret('SHORT', 'abc')]);
    expect(empty.size).toBe(0);
    const data = Buffer.from(`anything ${VALUE} at all`);
    const { out, count } = await streamThrough(empty, [data]);
    expect(out.equals(data)).toBe(true);
    expect(count).toBe(0);
    expect(empty.redactBuffer(data)).toEqual({ output: data, count: 0 });
  });
});

describe('RedactingStream', () => {
  const redactor = new Redactor([secret('K', VALUE), secret('K2', 'another-secret-value-42')]);

  it('redacts a value split at every position, and one byte at a time', async () => {
    const data = Buffer.from(
      `before ${VALUE} middle ${VALUE_BYTES.toString('base64')} and ${encodeURIComponent('another-secret-value-42')} after`,
    );
    const whole = redactor.redactBuffer(data);
    expect(whole.count).toBe(3);
    for (let cut = 0; cut <= data.length; cut += 1) {
      const { out, count } = await streamThrough(redactor, splitAt(data, [cut]));
      expect(out.equals(whole.output), `cut at ${cut}`).toBe(true);
      expect(count).toBe(3);
    }
    const dripped = await streamThrough(
      redactor,
      [...data].map((b) => Buffer.from([b])),
    );
    expect(dripped.out.equals(whole.output)).toBe(true);
    expect(dripped.count).toBe(3);
  });

  /** What the reader has been given so far. */
  function collect(stream: RedactingStream): () => string {
    const seen: Buffer[] = [];
    stream.on('data', (c: Buffer) => seen.push(c));
    return () => Buffer.concat(seen).toString('latin1');
  }

  it('lets an SSE event or an NDJSON line go at once, and a line without an ending after a pause', async () => {
    const stream = redactor.createStream({ holdMs: 40 });
    const given = collect(stream);
    stream.write('event: a\ndata: hello\n\n');
    await tick();
    expect(given()).toBe('event: a\ndata: hello\n\n');
    stream.write('{"n":1}\n{"n":2}');
    await tick();
    expect(given()).toBe('event: a\ndata: hello\n\n{"n":1}\n');
    stream.write('\ndata: sk_li');
    await tick();
    expect(given()).toBe('event: a\ndata: hello\n\n{"n":1}\n{"n":2}\n');
    await sleep(80);
    // Short: all of it is within the tail that a pause does not let go.
    expect(given()).toBe('event: a\ndata: hello\n\n{"n":1}\n{"n":2}\n');
    stream.end(`ve_nope and ${VALUE}\n\n`);
    await new Promise((r) => stream.on('end', r));
    expect(given()).toBe(
      `event: a\ndata: hello\n\n{"n":1}\n{"n":2}\ndata: sk_live_nope and ${REDACTION_MARKER}\n\n`,
    );
    expect(stream.count).toBe(1);
  });

  it('after a pause, lets go of all but the tail; bytes a window behind go at once; memory stays flat', async () => {
    const stream = redactor.createStream({ holdMs: 30, tailBytes: 16, windowBytes: 4096 });
    const given = collect(stream);
    stream.write('x'.repeat(100));
    await tick();
    expect(given().length).toBe(0);
    await sleep(70);
    expect(given().length).toBe(84);
    for (let i = 0; i < 100; i += 1) stream.write('y'.repeat(1000));
    await tick();
    expect(stream.readableLength + given().length).toBe(100 * 1000 + 100 - 4096);
    stream.destroy();
  });

  it('lets nothing go by age while the reader is not reading, and catches up when it reads', async () => {
    const stream = redactor.createStream({ holdMs: 20, tailBytes: 0 });
    // More than the readable buffer holds: its default size is 16 KiB on Node 20 and 64 KiB from Node 22.
    const fill = stream.readableHighWaterMark + 4_000;
    stream.write(`${'z'.repeat(fill)}.\n`); // released at once (a barrier)
    stream.write('held line without an ending');
    await sleep(60);
    expect(stream.readableLength).toBe(fill + 2);
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    await sleep(60);
    expect(Buffer.concat(chunks).toString().endsWith('held line without an ending')).toBe(true);
    stream.destroy();
  });

  it('drops what it holds when the stream fails', async () => {
    const stream = redactor.createStream();
    const given = collect(stream);
    stream.on('error', () => {});
    stream.write('line one.\nline two, cut');
    await tick();
    stream.destroy(new Error('upstream reset'));
    await sleep(20);
    expect(given()).toBe('line one.\n');
  });
});

describe('properties', () => {
  // Secrets of 8+ bytes without '[' or ']' (a value made of the marker's own text could reappear where the marker
  // meets its neighbours, see Redactor) and without line breaks (a multi-line value is redacted piece by piece).
  const secretValue = fc
    .uint8Array({ minLength: 8, maxLength: 40 })
    .filter((v) => !v.some((b) => b === 0x5b || b === 0x5d || b === 0x0a || b === 0x0d));
  const printable = fc.string({ unit: 'grapheme-ascii', maxLength: 80 }).map((t) => Buffer.from(t, 'latin1'));
  const filler = fc.oneof(printable, fc.uint8Array({ maxLength: 60 }));
  /**
   * Up to three encodings, innermost first. Those that escape a random choice of characters cannot be undone by a
   * pattern under base64, so they come after the last base64; upper case only as the last step.
   */
  const chain = fc
    .tuple(
      fc.array(fc.constantFrom(...ENCODINGS.map((e) => e.name)), { maxLength: 3 }),
      fc.boolean(),
      fc.nat(),
    )
    .filter(([names]) => {
      const lastB64 = names.findLastIndex((n) => n.startsWith('b64'));
      return names.every((n, i) => encoding(n).deterministic || i > lastB64);
    });
  const encodeWith = ([names, upperCase, seed]: [string[], boolean, number], value: Uint8Array) => {
    const encs = names.map(encoding);
    const random = seeded(seed);
    let text: string | undefined = Buffer.from(value).toString('latin1');
    for (const e of encs) text = text === undefined ? undefined : e.encode(text, random);
    if (text === undefined) return Buffer.from(value);
    if (upperCase && !encs.some((e) => e.name.startsWith('b64'))) text = upper(text);
    return Buffer.from(text, 'latin1');
  };

  /** Filler, encoded secrets and truncated ones (near misses), in random order. */
  const body = (
    values: Uint8Array[],
    pieces: [Uint8Array, number, [string[], boolean, number], number][],
    whole: boolean,
  ) =>
    Buffer.concat(
      pieces.flatMap(([fill, which, how, cut]) => {
        const form = encodeWith(how, values[which % values.length]!);
        // A near miss is the first part of a form, at most half of it: base64 patterns leave out the characters at
        // each end that mix in other bytes, so a form missing only its last one may still be found (and redacted).
        return [fill, whole && cut % 3 === 0 ? form : form.subarray(0, cut % Math.ceil(form.length / 2))];
      }),
    );
  const pieces = fc.array(fc.tuple(filler, fc.nat(), chain, fc.nat()), { minLength: 1, maxLength: 6 });
  const cuts = fc.array(fc.nat(3000), { maxLength: 8 });

  it('(1) nothing that reads back as a secret survives, wherever it is placed and however the stream is cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(secretValue, { minLength: 1, maxLength: 3 }),
        pieces,
        cuts,
        async (values, parts, cutAt) => {
          const redactor = new Redactor(values.map((v, i) => secret(`S${i}`, v)));
          const data = body(values, parts, true);
          const { out } = await streamThrough(redactor, splitAt(data, cutAt));
          for (const v of values) expect(formsIn(out, v)).toEqual([]);
        },
      ),
      { numRuns: 400 },
    );
  }, 60_000);

  it('(2) data holding no secret comes out byte-identical, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(secretValue, { minLength: 1, maxLength: 3 }),
        pieces,
        cuts,
        async (values, parts, cutAt) => {
          const data = body(values, parts, false);
          fc.pre(values.every((v) => formsIn(data, v).length === 0));
          const redactor = new Redactor(values.map((v, i) => secret(`S${i}`, v)));
          const { out, count } = await streamThrough(redactor, splitAt(data, cutAt));
          expect(count).toBe(0);
          expect(out.equals(data)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  }, 60_000);

  it('(3) the stream gives exactly what redactBuffer gives, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(secretValue, { minLength: 1, maxLength: 3 }),
        pieces,
        cuts,
        fc.boolean(),
        async (values, parts, cutAt, bytewise) => {
          const redactor = new Redactor(values.map((v, i) => secret(`S${i}`, v)));
          const data = body(values, parts, true);
          const whole = redactor.redactBuffer(data);
          const chunks = bytewise ? [...data].map((b) => Buffer.from([b])) : splitAt(data, cutAt);
          const { out, count } = await streamThrough(redactor, chunks);
          expect(out.equals(whole.output)).toBe(true);
          expect(count).toBe(whole.count);
        },
      ),
      { numRuns: 300 },
    );
  }, 60_000);

  it('(3b) the same with chunks too long to be copied whole, cut inside the forms', async () => {
    // Chunks over 8 KiB are joined to the held bytes through a short bridge instead of a copy (see redactor.ts).
    await fc.assert(
      fc.asyncProperty(
        fc.array(secretValue, { minLength: 1, maxLength: 3 }),
        pieces,
        fc.array(fc.nat(), { minLength: 6, maxLength: 6 }),
        async (values, parts, offsets) => {
          const redactor = new Redactor(values.map((v, i) => secret(`S${i}`, v)));
          const segments: Buffer[] = [];
          const cuts: number[] = [];
          let at = 0;
          parts.forEach((part, i) => {
            const pad = Buffer.alloc(9000 + (offsets[i]! % 3000), 'pad text, ');
            const form = body(values, [part], true);
            segments.push(pad, form);
            cuts.push(at + pad.length + (offsets[i]! % (form.length + 1)));
            at += pad.length + form.length;
          });
          const data = Buffer.concat(segments);
          const whole = redactor.redactBuffer(data);
          const { out, count } = await streamThrough(redactor, splitAt(data, cuts));
          expect(out.equals(whole.output)).toBe(true);
          expect(count).toBe(whole.count);
        },
      ),
      { numRuns: 100 },
    );
  }, 60_000);

  it('(4) what a reader has at a pause and after a disconnect is the same for a true prefix and a wrong guess', async () => {
    // The attack: make an echo send `<<` and a guess, then pause or drop. If bytes that begin a secret (or one of
    // its encodings) were held back and others not, the reader would learn which guesses are right.
    const rule = { holdMs: 15, tailBytes: 8, windowBytes: 64 };
    /** Bytes given to the reader: right after the write, after the pause, and after the upstream fails. */
    async function observe(redactor: Redactor, text: Buffer): Promise<number[]> {
      // The clock is the test's, so that only the bytes can make a difference.
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
      try {
        const stream = redactor.createStream(rule);
        let given = 0;
        stream.on('data', (c: Buffer) => {
          given += c.length;
        });
        stream.on('error', () => {});
        stream.write(text);
        await tick();
        const atOnce = given;
        vi.advanceTimersByTime(40);
        await tick();
        const afterPause = given;
        stream.destroy(new Error('dropped'));
        await tick();
        return [atOnce, afterPause, given];
      } finally {
        vi.useRealTimers();
      }
    }
    await fc.assert(
      fc.asyncProperty(
        secretValue,
        chain,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        printable,
        async (value, how, length, flip, lead) => {
          const redactor = new Redactor([secret('S', value)]);
          const form = encodeWith(how, value);
          const prefix = form.subarray(0, 1 + (length % form.length));
          // The wrong guess: the same bytes but the last, changed (never into a line break: those are not secret).
          const wrong = Buffer.from(prefix);
          const last = (wrong[wrong.length - 1]! + flip) % 256;
          wrong[wrong.length - 1] = last === 0x0a || last === 0x0d ? 0x21 : last;
          // A guess holding a whole form is redacted, by design: that is not a prefix (nor a guess: it is the secret).
          const whole = (guess: Buffer) => redactor.redactBuffer(Buffer.concat([lead, guess])).count > 0;
          fc.pre(!wrong.equals(prefix) && !whole(prefix) && !whole(wrong));
          const right = await observe(redactor, Buffer.concat([lead, Buffer.from('<<'), prefix]));
          const guess = await observe(redactor, Buffer.concat([lead, Buffer.from('<<'), wrong]));
          expect(right).toEqual(guess);
        },
      ),
      { numRuns: 80 },
    );
  }, 60_000);
});
