// VICI message elements (README "Message format"). A message is an ordered
// tree: JS objects would move integer-like keys such as child names "1" to
// the front, so messages are built from ordered entries in ViciSection.
import { ViciEncodeError, ViciProtocolError } from './errors.js';

export const ElementType = {
  SECTION_START: 1,
  SECTION_END: 2,
  KEY_VALUE: 3,
  LIST_START: 4,
  LIST_ITEM: 5,
  LIST_END: 6,
} as const;

export const MAX_KEY_BYTES = 255;
export const MAX_VALUE_BYTES = 65_535;

/** Values are byte strings; Buffer keeps binary data (DER) intact. */
export type ViciScalar = string | Buffer;
/** A list holds only scalar items and never nests. */
export type ViciList = ViciScalar[];
export type ViciValue = ViciScalar | ViciList | ViciSection;

/** What callers may hand in: numbers become decimal strings, booleans yes/no, undefined is left out. */
export type ViciInput = ViciScalar | number | bigint | boolean | undefined | Array<ViciScalar | number | bigint> | ViciSection;

function normalizeScalar(value: ViciScalar | number | bigint | boolean): ViciScalar {
  if (typeof value === 'string' || Buffer.isBuffer(value)) return value;
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number' && !Number.isFinite(value)) throw new ViciEncodeError('vici numbers must be finite');
  return String(value);
}

function normalize(value: Exclude<ViciInput, undefined>): ViciValue {
  if (value instanceof ViciSection) return value;
  if (Array.isArray(value)) return value.map((item) => normalizeScalar(item));
  return normalizeScalar(value);
}

/** An ordered section; keys are unique within it. */
export class ViciSection {
  readonly entries: Array<[string, ViciValue]> = [];

  constructor(entries: Iterable<readonly [string, ViciInput]> = []) {
    for (const [key, value] of entries) this.set(key, value);
  }

  /** Replaces an existing key in place (keeping its position) or appends; undefined removes nothing and adds nothing. */
  set(key: string, value: ViciInput): this {
    if (value === undefined) return this;
    const normalized = normalize(value);
    const index = this.entries.findIndex(([k]) => k === key);
    if (index >= 0) this.entries[index] = [key, normalized];
    else this.entries.push([key, normalized]);
    return this;
  }

  get(key: string): ViciValue | undefined {
    return this.entries.find(([k]) => k === key)?.[1];
  }

  has(key: string): boolean {
    return this.entries.some(([k]) => k === key);
  }

  keys(): string[] {
    return this.entries.map(([k]) => k);
  }

  get size(): number {
    return this.entries.length;
  }
}

/** Shorthand for building messages: section([['name', 'x'], ['children', section([...])]]). */
export function section(entries: Iterable<readonly [string, ViciInput]> = []): ViciSection {
  return new ViciSection(entries);
}

// ---- encoding -------------------------------------------------------------

class ByteWriter {
  private chunks: Buffer[] = [];
  length = 0;
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }
  byte(value: number): void {
    this.push(Buffer.from([value]));
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

function writeName(out: ByteWriter, name: string, what: string): void {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length > MAX_KEY_BYTES) throw new ViciEncodeError(`vici ${what} name longer than ${MAX_KEY_BYTES} bytes: ${name.slice(0, 40)}...`);
  out.byte(bytes.length);
  out.push(bytes);
}

// The key is named in errors, never the value: values can be secrets.
function writeValue(out: ByteWriter, value: ViciScalar, key: string): void {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (bytes.length > MAX_VALUE_BYTES) throw new ViciEncodeError(`vici value of "${key}" is ${bytes.length} bytes, more than ${MAX_VALUE_BYTES}`);
  const header = Buffer.alloc(2);
  header.writeUInt16BE(bytes.length);
  out.push(header);
  out.push(bytes);
}

function encodeSection(out: ByteWriter, sec: ViciSection): void {
  const seen = new Set<string>();
  for (const [key, value] of sec.entries) {
    if (seen.has(key)) throw new ViciEncodeError(`vici key "${key}" appears twice in one section`);
    seen.add(key);
    if (value instanceof ViciSection) {
      out.byte(ElementType.SECTION_START);
      writeName(out, key, 'section');
      encodeSection(out, value);
      out.byte(ElementType.SECTION_END);
    } else if (Array.isArray(value)) {
      out.byte(ElementType.LIST_START);
      writeName(out, key, 'list');
      for (const item of value) {
        if (typeof item !== 'string' && !Buffer.isBuffer(item)) throw new ViciEncodeError(`vici list "${key}" may only hold strings or bytes`);
        out.byte(ElementType.LIST_ITEM);
        writeValue(out, item, key);
      }
      out.byte(ElementType.LIST_END);
    } else {
      out.byte(ElementType.KEY_VALUE);
      writeName(out, key, 'key');
      writeValue(out, value, key);
    }
  }
}

/** Encodes the implicit root section into message bytes. */
export function encodeMessage(message: ViciSection): Buffer {
  const out = new ByteWriter();
  encodeSection(out, message);
  return out.toBuffer();
}

// ---- decoding -------------------------------------------------------------

class ByteReader {
  offset = 0;
  constructor(private readonly bytes: Buffer) {}
  get done(): boolean {
    return this.offset >= this.bytes.length;
  }
  take(count: number, what: string): Buffer {
    if (this.offset + count > this.bytes.length) throw new ViciProtocolError(`vici message truncated in ${what} at byte ${this.offset}`);
    const slice = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return slice;
  }
  byte(what: string): number {
    return this.take(1, what)[0]!;
  }
  name(what: string): string {
    return this.take(this.byte(what), what).toString('utf8');
  }
  value(what: string): Buffer {
    const length = this.take(2, what).readUInt16BE(0);
    // copy so the result does not pin the whole receive buffer
    return Buffer.from(this.take(length, what));
  }
}

/** Decodes message bytes; values come back as Buffers (see toPlain for strings). */
export function decodeMessage(bytes: Buffer): ViciSection {
  const reader = new ByteReader(bytes);
  const root = new ViciSection();
  const stack: ViciSection[] = [root];
  let list: { key: string; items: Buffer[] } | undefined;

  const addTo = (key: string, value: ViciValue): void => {
    const current = stack[stack.length - 1]!;
    if (current.has(key)) throw new ViciProtocolError(`vici key "${key}" appears twice in one section`);
    current.entries.push([key, value]);
  };

  while (!reader.done) {
    const at = reader.offset;
    const type = reader.byte('element type');
    if (list && type !== ElementType.LIST_ITEM && type !== ElementType.LIST_END) {
      throw new ViciProtocolError(`vici element type ${type} inside list "${list.key}" at byte ${at}`);
    }
    switch (type) {
      case ElementType.SECTION_START: {
        const key = reader.name('section name');
        const child = new ViciSection();
        addTo(key, child);
        stack.push(child);
        break;
      }
      case ElementType.SECTION_END:
        if (stack.length === 1) throw new ViciProtocolError(`vici SECTION_END without open section at byte ${at}`);
        stack.pop();
        break;
      case ElementType.KEY_VALUE: {
        const key = reader.name('key name');
        addTo(key, reader.value(`value of "${key}"`));
        break;
      }
      case ElementType.LIST_START:
        list = { key: reader.name('list name'), items: [] };
        break;
      case ElementType.LIST_ITEM:
        if (!list) throw new ViciProtocolError(`vici LIST_ITEM outside a list at byte ${at}`);
        list.items.push(reader.value(`item of "${list.key}"`));
        break;
      case ElementType.LIST_END:
        if (!list) throw new ViciProtocolError(`vici LIST_END without open list at byte ${at}`);
        addTo(list.key, list.items);
        list = undefined;
        break;
      default:
        throw new ViciProtocolError(`vici unknown element type ${type} at byte ${at}`);
    }
  }
  if (list) throw new ViciProtocolError(`vici list "${list.key}" not closed`);
  if (stack.length !== 1) throw new ViciProtocolError(`vici ${stack.length - 1} section(s) not closed`);
  return root;
}

// ---- reading responses ----------------------------------------------------

export type ViciPlainValue = string | string[] | ViciPlain;
export interface ViciPlain {
  [key: string]: ViciPlainValue;
}

/**
 * A plain object for reading responses (values as UTF-8 strings). Order of
 * integer-like keys is not preserved; use the ViciSection when order matters.
 */
export function toPlain(sec: ViciSection): ViciPlain {
  const out: ViciPlain = {};
  for (const [key, value] of sec.entries) {
    const plain = value instanceof ViciSection ? toPlain(value) : Array.isArray(value) ? value.map((v) => v.toString()) : value.toString();
    // defineProperty: a key named "__proto__" must stay a plain key
    Object.defineProperty(out, key, { value: plain, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
