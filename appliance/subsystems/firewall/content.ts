// The content of Junction's nft table in one comparable form, built the same
// way from the batch the compiler renders and from `nft -j list table`: plan,
// drift and the delta apply all compare these, never signatures or counts.
// nft prints some expressions differently from how it accepts them (counter
// values, protocol names, `tcp dport` for `meta l4proto tcp th dport`, a
// default burst, set order); the normalizers fold only those, so a table
// loaded from a batch lists back as exactly that batch's content.
// A recompile reuses the command objects of everything a change did not
// touch, so the work per command (100k element lines in a set) is kept by
// command object: the content of a one-rule change costs what it changed.
import { readFileSync } from 'node:fs';
import { TABLE } from '../../../rules/index.js';
import type { PlanChunk } from '../../core/subsystem.js';

type NftObject = Record<string, Record<string, unknown>>;

export interface RuleContent {
  /** the rule by content: comment and normalized expressions */
  line: string;
  /** the rule's statements as given (batch) or listed (kernel), to add it again */
  expr: unknown[];
  comment?: string;
  /** kernel handle (listings only) */
  handle?: number;
  /** index of the add command in the batch (batches only): maps an nft error back to its origin */
  index?: number;
}

export interface TableContent {
  /** chain name -> declaration line (type, hook, priority, policy for base chains) */
  chains: Map<string, string>;
  /** chain name -> its rules in order */
  rules: Map<string, RuleContent[]>;
  /** set or map name -> declaration line (kind, type, flags) */
  sets: Map<string, string>;
  /**
   * set or map name -> element line (its key, never its counter) -> the element as given or listed.
   * Never changed once built: the same set command gives the same map in every content that has it.
   */
  elements: Map<string, ReadonlyMap<string, unknown>>;
  /** named counters: name -> packets and bytes (zero in batches) */
  counters: Map<string, { packets: number; bytes: number }>;
  /** flowtable name -> declaration line */
  flowtables: Map<string, string>;
  /** command index per declaration in the batch ("chain x", "set y", ...): the origin of an error */
  indexes: Map<string, number>;
  /** a listing made with -t (terse) carries no elements: `elements` is unknown, not empty */
  terse: boolean;
}

export const emptyTable = (): TableContent => ({
  chains: new Map(), rules: new Map(), sets: new Map(), elements: new Map(), counters: new Map(), flowtables: new Map(), indexes: new Map(), terse: false,
});

/** JSON with object keys sorted, so key order never makes two equal things differ. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** Folds the ways nft lists an expression differently from how it accepts it. */
export function normalize(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(normalize);
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  if (keys.length === 1) {
    const [key] = keys;
    const inner = object[key];
    // An anonymous counter lists its values; they are state, not content.
    if (key === 'counter' && inner && typeof inner === 'object' && !Array.isArray(inner) && 'packets' in inner) return { counter: null };
    // `{"set": [a, b]}` and `[a, b]` are the same anonymous set; one item is the item.
    if (key === 'set' && Array.isArray(inner)) return inner.length === 1 ? normalize(inner[0]) : inner.map(normalize);
    // A packet limit without a burst gets nft's default of 5.
    if (key === 'limit' && inner && typeof inner === 'object' && !('burst' in inner) && !('rate_unit' in inner)) return { limit: { ...normalize(inner) as object, burst: 5 } };
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = normalize(object[key]);
  return out;
}

/**
 * nft lists an inet_proto value by its /etc/protocols name (numbers when the
 * file is missing); the batch may give either. Names become numbers.
 */
let protocolTable: Map<string, number> | undefined;
function protocolNumbers(): Map<string, number> {
  if (protocolTable) return protocolTable;
  protocolTable = new Map([['icmp', 1], ['igmp', 2], ['tcp', 6], ['udp', 17], ['gre', 47], ['esp', 50], ['ah', 51], ['ipv6-icmp', 58], ['sctp', 132], ['udplite', 136]]);
  try {
    for (const line of readFileSync('/etc/protocols', 'utf8').split('\n')) {
      const [name, number] = line.replace(/#.*/, '').trim().split(/\s+/);
      if (name && number && /^\d+$/.test(number)) protocolTable.set(name, Number(number));
    }
  } catch {
    // no /etc/protocols: nft then prints numbers, and the built-in names cover the batch's
  }
  return protocolTable;
}
const protocolNumber = (value: unknown): unknown => (typeof value === 'string' ? (protocolNumbers().get(value) ?? value) : value);

/** The positions of a set's key that are protocols (inet_proto). */
function protocolPositions(type: unknown): number[] {
  const types = Array.isArray(type) ? type : [type];
  return types.flatMap((t, i) => (t === 'inet_proto' ? [i] : []));
}

/** A set key with its protocol names as numbers; the same object when there is none (the batch's case). */
function protocolsAsNumbers(key: unknown, protocols: number[]): unknown {
  const concat = (key as { concat?: unknown[] } | null)?.concat;
  if (!Array.isArray(concat)) return protocols.includes(0) ? protocolNumber(key) : key;
  let parts: unknown[] | undefined;
  for (const i of protocols) {
    if (typeof concat[i] !== 'string') continue;
    parts ??= concat.slice();
    parts[i] = protocolNumber(concat[i]);
  }
  return parts ? { concat: parts } : key;
}

/**
 * One element as a line. This runs once per element (100k and more), so it
 * avoids the generic normalize: the compiler and nft write elements with the
 * same keys in the same order, and only protocols and a listed element's
 * own state (`{"elem": {"val": ...}}`) need folding.
 */
function elementLine(element: unknown, protocols: number[]): string {
  let value = element;
  const unwrap = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) && 'elem' in v ? (v as { elem: { val: unknown } }).elem.val : v);
  value = Array.isArray(value) ? [unwrap(value[0]), value[1]] : unwrap(value);
  if (protocols.length) value = Array.isArray(value) ? [protocolsAsNumbers(value[0], protocols), value[1]] : protocolsAsNumbers(value, protocols);
  return JSON.stringify(value);
}

const isMatch = (statement: unknown, left: string): statement is { match: { op: string; left: Record<string, { key?: string; protocol?: string; field?: string }>; right: unknown } } =>
  !!statement && typeof statement === 'object' && 'match' in statement && left in ((statement as { match: { left: object } }).match.left ?? {});

/**
 * A rule's statements in the form nft lists them: `meta l4proto tcp` then
 * `th dport 22` is listed as `tcp dport 22`; protocols are numbers; the
 * items of an anonymous set are sorted (nft keeps them in its own order).
 */
function normalizeRule(expr: unknown[]): unknown[] {
  const statements = normalize(expr) as unknown[];
  const out: unknown[] = [];
  for (let i = 0; i < statements.length; i++) {
    const statement = statements[i];
    if (isMatch(statement, 'meta') && statement.match.left.meta.key === 'l4proto') {
      const right = statement.match.right;
      // nft drops `meta l4proto tcp` when the next statement's `th` payload can say `tcp` instead.
      if (typeof right === 'string' && statement.match.op === '==' && TRANSPORTS.has(right) && i + 1 < statements.length && mentionsTh(statements[i + 1])) {
        statements[i + 1] = withTransport(statements[i + 1], right);
        continue;
      }
      out.push({ match: { ...statement.match, right: Array.isArray(right) ? right.map(protocolNumber) : protocolNumber(right) } });
      continue;
    }
    out.push(statement);
  }
  return out.map(sortAnonymousSet);
}

const TRANSPORTS = new Set(['tcp', 'udp', 'udplite', 'sctp', 'dccp']);

const mentionsTh = (value: unknown): boolean => JSON.stringify(value).includes('"protocol":"th"');

function withTransport(value: unknown, transport: string): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => withTransport(v, transport));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = withTransport(v, transport);
  if (isThPayload(out)) out.protocol = transport;
  return out;
}
const isThPayload = (object: Record<string, unknown>) => object.protocol === 'th' && typeof object.field === 'string';

/** The items of an anonymous set in a match, sorted: nft keeps them in its own order. */
function sortAnonymousSet(statement: unknown): unknown {
  const match = (statement as { match?: { right: unknown } } | null)?.match;
  if (!match || !Array.isArray(match.right)) return statement;
  const keyed = match.right.map((item) => [canonicalJson(item), item] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { match: { ...match, right: keyed.map(([, item]) => item) } };
}

function chainLine(spec: Record<string, unknown>): string {
  if (spec.hook === undefined) return `chain ${spec.name}`;
  return `chain ${spec.name} type ${spec.type} hook ${spec.hook} prio ${spec.prio} policy ${spec.policy ?? 'accept'}`;
}

function setLine(kind: string, spec: Record<string, unknown>): string {
  const type = Array.isArray(spec.type) ? spec.type.join(' . ') : spec.type;
  const flags = Array.isArray(spec.flags) ? [...spec.flags].sort().join(',') : (spec.flags ?? '');
  // per-element statements (`counter`): part of the declaration, their values are state
  const stmt = Array.isArray(spec.stmt) && spec.stmt.length ? ` ${spec.stmt.map((s) => firstKey(s)).join(' ')}` : '';
  return `${kind} ${spec.name} type ${type}${spec.map ? ` : ${spec.map}` : ''}${flags ? ` flags ${flags}` : ''}${stmt}`;
}

function flowtableLine(spec: Record<string, unknown>): string {
  const devices = Array.isArray(spec.dev) ? [...spec.dev].sort() : spec.dev ? [spec.dev] : [];
  return `flowtable ${spec.name} hook ${spec.hook} prio ${spec.prio} devices ${devices.join(',')}`;
}

export function ruleLine(chain: string, comment: string | undefined, expr: unknown[]): string {
  return `rule ${chain} ${JSON.stringify(comment ?? '')} ${canonicalJson(normalizeRule(expr))}`;
}

/** The only key of a one-key object (`{"add": ...}`, `{"rule": ...}`), without building an entries array. */
function firstKey(object: unknown): string | undefined {
  for (const key in object as object) return key;
  return undefined;
}

/** A set or map declaration read once: its line, the key positions that are protocols, its own elements. */
interface SetDeclaration {
  line: string;
  protocols: number[];
  elements: ReadonlyMap<string, unknown>;
}

/**
 * A set's elements by line, made on first use. The delta of a commit that
 * adds a set carries the set's command as it is and needs no line of it; the
 * plan, which does, runs while nft applies (ApplyOptions.meanwhile). So 100k
 * new elements cost no line before nft starts.
 */
class ElementLines implements ReadonlyMap<string, unknown> {
  private built: Map<string, unknown> | undefined;
  constructor(
    private readonly given: readonly unknown[],
    private readonly protocols: number[],
  ) {}
  private lines(): Map<string, unknown> {
    if (!this.built) {
      this.built = new Map();
      for (const element of this.given) this.built.set(elementLine(element, this.protocols), element);
    }
    return this.built;
  }
  get size(): number {
    return this.lines().size;
  }
  get(line: string): unknown {
    return this.lines().get(line);
  }
  has(line: string): boolean {
    return this.lines().has(line);
  }
  forEach(callback: (value: unknown, key: string, map: ReadonlyMap<string, unknown>) => void, thisArg?: unknown): void {
    for (const [line, element] of this.lines()) callback.call(thisArg, element, line, this);
  }
  entries(): MapIterator<[string, unknown]> {
    return this.lines().entries();
  }
  keys(): MapIterator<string> {
    return this.lines().keys();
  }
  values(): MapIterator<unknown> {
    return this.lines().values();
  }
  [Symbol.iterator](): MapIterator<[string, unknown]> {
    return this.lines()[Symbol.iterator]();
  }
}

// Keyed by the command's body object (the spec inside `add`), which batches and listings both have;
// nothing changes a command once it is compiled or parsed, so what was read from it stays true.
const setDeclarations = new WeakMap<object, SetDeclaration>();
const ruleLines = new WeakMap<object, string>();

function setDeclaration(kind: string, spec: Record<string, unknown>): SetDeclaration {
  let declaration = setDeclarations.get(spec);
  if (!declaration) {
    const protocols = protocolPositions(spec.type);
    declaration = { line: setLine(kind, spec), protocols, elements: new ElementLines((spec.elem as unknown[] | undefined) ?? [], protocols) };
    setDeclarations.set(spec, declaration);
  }
  return declaration;
}

function cachedRuleLine(spec: Record<string, unknown>, chain: string, comment: string | undefined, expr: unknown[]): string {
  let line = ruleLines.get(spec);
  if (line === undefined) {
    line = ruleLine(chain, comment, expr);
    ruleLines.set(spec, line);
  }
  return line;
}

/**
 * Reads a batch (`add`/`insert` commands; a `delete table` resets what came
 * before it) or a listing (bare objects) into one TableContent.
 */
export function tableContent(objects: readonly unknown[], terse = false): TableContent {
  let content = emptyTable();
  content.terse = terse;
  const protocols = new Map<string, number[]>();
  // The element maps this call made itself: the only ones it may add to (the others are shared).
  const own = new Set<ReadonlyMap<string, unknown>>();
  const ownElements = (name: string): Map<string, unknown> => {
    const current = content.elements.get(name);
    if (current && own.has(current)) return current as Map<string, unknown>;
    const copy = new Map(current);
    own.add(copy);
    content.elements.set(name, copy);
    return copy;
  };
  objects.forEach((object, index) => {
    const verb = firstKey(object);
    const body = verb === undefined ? undefined : (object as NftObject)[verb];
    if (!body || typeof body !== 'object') return;
    if (verb === 'delete' || verb === 'flush') {
      if ((body as { table?: { name?: string } }).table?.name === TABLE) content = { ...emptyTable(), terse };
      return;
    }
    // A batch wraps objects in add/insert; a listing shows them bare.
    const wrapped = verb === 'add' || verb === 'insert';
    const kind = wrapped ? firstKey(body) : verb;
    const spec = (wrapped && kind !== undefined ? (body as NftObject)[kind] : body) as Record<string, unknown> | undefined;
    if (!spec || spec.table !== TABLE) return;
    const name = String(spec.name ?? '');
    if (kind === 'chain') {
      content.chains.set(name, chainLine(spec));
      content.indexes.set(`chain ${name}`, index);
      if (!content.rules.has(name)) content.rules.set(name, []);
    } else if (kind === 'set' || kind === 'map') {
      const declaration = setDeclaration(kind, spec);
      content.sets.set(name, declaration.line);
      content.indexes.set(`set ${name}`, index);
      protocols.set(name, declaration.protocols);
      // declared again: nft adds the elements to the ones it has
      if (content.elements.has(name)) for (const [line, element] of declaration.elements) ownElements(name).set(line, element);
      else content.elements.set(name, declaration.elements);
    } else if (kind === 'element') {
      const elements = ownElements(name);
      for (const element of (spec.elem as unknown[] | undefined) ?? []) elements.set(elementLine(element, protocols.get(name) ?? []), element);
    } else if (kind === 'counter') {
      content.counters.set(name, { packets: Number(spec.packets ?? 0), bytes: Number(spec.bytes ?? 0) });
      content.indexes.set(`counter ${name}`, index);
    } else if (kind === 'flowtable') {
      content.flowtables.set(name, flowtableLine(spec));
      content.indexes.set(`flowtable ${name}`, index);
    } else if (kind === 'rule') {
      const chain = String(spec.chain);
      const expr = (spec.expr as unknown[] | undefined) ?? [];
      const comment = spec.comment as string | undefined;
      const rule: RuleContent = { line: cachedRuleLine(spec, chain, comment, expr), expr, ...(comment !== undefined ? { comment } : {}) };
      if (typeof spec.handle === 'number') rule.handle = spec.handle;
      if (verb === 'add' || verb === 'insert') rule.index = index;
      const list = content.rules.get(chain) ?? [];
      if (verb === 'insert') list.unshift(rule);
      else list.push(rule);
      content.rules.set(chain, list);
    }
  });
  return content;
}

/** The content of what `nft -j list ...` printed. */
export const listedContent = (stdout: string, terse = false): TableContent =>
  tableContent((JSON.parse(stdout) as { nftables: unknown[] }).nftables, terse);

/** A set's element lines, sorted, by its (never changed) element map: the same chunk while the set's command is reused. */
const elementChunks = new WeakMap<ReadonlyMap<string, unknown>, PlanChunk>();
function elementChunk(name: string, elements: ReadonlyMap<string, unknown>): PlanChunk {
  const key = `elements ${name}`;
  let chunk = elementChunks.get(elements);
  if (chunk?.key !== key) {
    const lines: string[] = [];
    for (const element of elements.keys()) lines.push(`element ${name} ${element}`);
    chunk = { key, lines: lines.sort() };
    elementChunks.set(elements, chunk);
  }
  return chunk;
}

/**
 * The table as lines a person can read and a program can compare:
 * declarations and elements sorted (their order means nothing to the
 * kernel), rules in their order within each chain (it does). In chunks
 * (the declarations, each set's elements, each chain's rules), so a plan
 * skips the sets two tables share.
 */
export function contentChunks(content: TableContent): PlanChunk[] {
  const declarations: string[] = [];
  for (const line of content.chains.values()) declarations.push(line);
  for (const line of content.sets.values()) declarations.push(line);
  for (const name of content.counters.keys()) declarations.push(`counter ${name}`);
  for (const line of content.flowtables.values()) declarations.push(line);
  const chunks: PlanChunk[] = [{ key: 'declarations', lines: declarations.sort() }];
  for (const name of [...content.elements.keys()].sort()) chunks.push(elementChunk(name, content.elements.get(name)!));
  for (const chain of [...content.rules.keys()].sort()) chunks.push({ key: `rules ${chain}`, lines: content.rules.get(chain)!.map((rule) => rule.line) });
  return chunks;
}

/** contentChunks as one list. */
export const contentLines = (content: TableContent): string[] => contentChunks(content).flatMap((chunk) => chunk.lines);
