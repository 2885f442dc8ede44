// Rule counters that survive the re-creation of a run's set. A rule counts
// in the per-element counters of its run's set; when that set is created
// anew (its run's last rule changed, its shape changed, the run split or
// merged, or the whole table is replaced), each new element whose rule owned
// the same element before starts from the old element's values. An element
// is the same when the same rule owns it and it covers the same source,
// destination, protocols and ports (a dimension the set's shape leaves out is
// "any"), whatever the two sets' shapes are.
//
// nft 1.0.6 reads no counter values of set elements from JSON (only native
// syntax has `counter packets N bytes M` on an element), so the values are
// put back by a second, native transaction right after the JSON one, which
// deletes and adds each carried element at once: no packet ever misses the
// element, and what the element counted between the two transactions (a few
// milliseconds) is lost.
import { parseRunSetName, type Dimension, type RuleCounters } from '../../../rules/index.js';
import type { TableContent } from './content.js';

export interface Counted {
  packets: number;
  bytes: number;
}

/** A ruleset's counted sets with their elements (line -> element as in the batch, in batch order). */
export interface OwnedElements {
  ruleCounters: RuleCounters;
  elements: TableContent['elements'];
}

export interface CarriedCounter extends Counted {
  set: string;
  /** the element's key as the batch gives it */
  key: unknown;
}

const ALL: Dimension[] = ['saddr', 'daddr', 'proto', 'port'];
const isRange = (part: unknown, first: number, last: number) => {
  const range = (part as { range?: unknown[] } | null)?.range;
  return Array.isArray(range) && range[0] === first && range[1] === last;
};
/** A key part that covers its dimension in full reads as "any", like a dimension the shape leaves out. */
function fullPart(dim: Dimension, part: unknown): boolean {
  if (dim === 'saddr' || dim === 'daddr') return (part as { prefix?: { len?: number } } | null)?.prefix?.len === 0;
  if (dim === 'proto') return isRange(part, 0, 255);
  return isRange(part, 0, 65535);
}

/** The element's identity: its owner, family and full element, independent of the set's shape; undefined for a set that is no run's. */
export function elementIdentity(set: string, owner: string, key: unknown): string | undefined {
  const parsed = parseRunSetName(set);
  if (!parsed) return undefined;
  const { dims } = parsed.shape;
  const parts = dims.length === 1 ? [key] : ((key as { concat?: unknown[] }).concat ?? []);
  const canonical = ALL.map((dim) => {
    const i = dims.indexOf(dim);
    return i < 0 || fullPart(dim, parts[i]) ? '*' : JSON.stringify(parts[i]);
  });
  return `${owner}|${parsed.family}|${canonical.join('|')}`;
}

/**
 * The kernel's counter values of the elements of `sets`, by identity, with
 * the owners from the ruleset that put them there (`applied`).
 */
export function countedByIdentity(applied: OwnedElements, kernel: TableContent['elements'], sets: Set<string>): Map<string, Counted> {
  const values = new Map<string, Counted>();
  for (const { name, owners } of applied.ruleCounters.sets) {
    const listed = kernel.get(name);
    const given = applied.elements.get(name);
    if (!sets.has(name) || !listed || !given) continue;
    let i = 0;
    for (const [line, key] of given) {
      const owner = owners[i++];
      const counter = (listed.get(line) as { elem?: { counter?: Counted } } | undefined)?.elem?.counter;
      if (!counter || !(counter.packets || counter.bytes)) continue;
      const identity = elementIdentity(name, owner, key);
      if (identity) values.set(identity, { packets: counter.packets, bytes: counter.bytes });
    }
  }
  return values;
}

/** The elements of the new sets `sets` of `desired` that take over values, with those values. */
export function carriedCounters(desired: OwnedElements, sets: Set<string>, values: Map<string, Counted>): CarriedCounter[] {
  const carried: CarriedCounter[] = [];
  if (!values.size) return carried;
  for (const { name, owners } of desired.ruleCounters.sets) {
    const given = desired.elements.get(name);
    if (!sets.has(name) || !given) continue;
    let i = 0;
    for (const key of given.values()) {
      const identity = elementIdentity(name, owners[i++], key);
      const counted = identity ? values.get(identity) : undefined;
      if (counted) carried.push({ set: name, key, ...counted });
    }
  }
  return carried;
}

/** One key part in nft's native syntax. */
function nativePart(part: unknown): string {
  if (typeof part === 'string' || typeof part === 'number') return String(part);
  const object = part as { prefix?: { addr: string; len: number }; range?: unknown[] };
  if (object.prefix) return `${object.prefix.addr}/${object.prefix.len}`;
  if (object.range) return `${nativePart(object.range[0])}-${nativePart(object.range[1])}`;
  throw new Error(`no native form for the set key part ${JSON.stringify(part)}`);
}

const nativeKey = (key: unknown) => {
  const concat = (key as { concat?: unknown[] } | null)?.concat;
  return Array.isArray(concat) ? concat.map(nativePart).join(' . ') : nativePart(key);
};

/** The native transaction that gives each carried element its values: delete and add it again with them. */
export function carryScript(family: string, table: string, carried: CarriedCounter[]): string {
  const lines: string[] = [];
  for (const c of carried) {
    const key = nativeKey(c.key);
    lines.push(`delete element ${family} ${table} ${c.set} { ${key} }`);
    lines.push(`add element ${family} ${table} ${c.set} { ${key} counter packets ${c.packets} bytes ${c.bytes} }`);
  }
  return `${lines.join('\n')}\n`;
}
