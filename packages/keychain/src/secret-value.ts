import { AgentSecretsError } from '@agentsecrets/errors';

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * A secret's value in memory, held so that it cannot be printed by accident.
 *
 * The bytes live in a private (`#`) field: `util.inspect`, `console.log`, template strings, `String()`,
 * `JSON.stringify`, `Object.keys`/`entries` and `structuredClone` see only the name, shown as `[secret NAME]`.
 * Take the value out on purpose with {@link SecretValue.bytes} or {@link SecretValue.text}, at the point of use, and
 * call {@link SecretValue.dispose} when done so the held copy is zero-filled.
 *
 * @example
 * ```ts
 * const v = new SecretValue('STRIPE_KEY', Buffer.from('sk_live_…'));
 * console.log(v);           // [secret STRIPE_KEY]
 * `${v}`;                   // '[secret STRIPE_KEY]'
 * headers.authorization = `Bearer ${v.text()}`; // deliberate
 * v.dispose();
 * ```
 */
export class SecretValue {
  /** The secret's name, which is not secret. */
  readonly name: string;
  #bytes: Buffer | undefined;

  /** Keeps a private copy of `bytes`; the caller may zero-fill its own buffer afterwards. */
  constructor(name: string, bytes: Uint8Array) {
    this.name = name;
    // Buffer.alloc never hands out a slice of the shared pool, so zero-filling it later touches nothing else.
    const own = Buffer.alloc(bytes.byteLength);
    own.set(bytes);
    this.#bytes = own;
  }

  /** A fresh copy of the value. The caller owns it and should zero-fill it (`buf.fill(0)`) when done. */
  bytes(): Buffer {
    const held = this.#held();
    const copy = Buffer.alloc(held.byteLength);
    copy.set(held);
    return copy;
  }

  /** The value decoded as UTF-8. Strings cannot be wiped, so prefer {@link SecretValue.bytes} where a buffer will do. */
  text(): string {
    return this.#held().toString('utf8');
  }

  /** The value's length in bytes. */
  get length(): number {
    return this.#held().byteLength;
  }

  /** True once {@link SecretValue.dispose} has run. */
  get disposed(): boolean {
    return this.#bytes === undefined;
  }

  /** Zero-fills the held bytes and forgets them; later reads throw. Calling it twice is harmless. */
  dispose(): void {
    this.#bytes?.fill(0);
    this.#bytes = undefined;
  }

  /** `[secret NAME]`: what `String(v)`, template strings and `util.format('%s', v)` show. */
  toString(): string {
    return `[secret ${this.name}]`;
  }

  /** `[secret NAME]`: what `JSON.stringify` writes. */
  toJSON(): string {
    return this.toString();
  }

  /** `[secret NAME]` for `+` and any other implicit conversion. */
  [Symbol.toPrimitive](): string {
    return this.toString();
  }

  /** `[secret NAME]` for `util.inspect` and `console.log`. */
  [INSPECT](): string {
    return this.toString();
  }

  #held(): Buffer {
    if (this.#bytes === undefined) {
      throw new AgentSecretsError('INTERNAL_ERROR', `secret ${this.name} was read after dispose()`, {
        hint: 'read the value before disposing it; this is a bug in the caller',
      });
    }
    return this.#bytes;
  }
}
