// A revision is stored as the change from its parent, not as its whole
// text: at 100k rules the text is ~10 MB, and writing it to SQLite on every
// commit took longer than the rest of a one-rule commit. Committed documents
// share their unchanged parts (model/shared-document.ts), so the change is
// found by identity in time proportional to the lists it walks, and it is
// as small as the edit. Applying the delta to the parent gives a document
// whose JSON text is byte for byte the committed one's (key order included).

import { identicalEnds } from './list-ends.js';

type Json = unknown;
type Path = Array<string | number>;

/** One step: set (or add) a value, delete a key, or splice a list. An empty path sets the whole document. */
export type DeltaOp =
  | ['set', Path, Json]
  | ['delete', Path]
  | ['splice', Path, number, number, Json[]];

const isRecord = (value: Json): value is Record<string, Json> => typeof value === 'object' && value !== null && !Array.isArray(value);
/** The keys JSON.stringify writes: own enumerable ones whose value is not undefined. */
const jsonKeys = (record: Record<string, Json>) => Object.keys(record).filter((key) => record[key] !== undefined);
/** Own, so that "constructor" or "__proto__" are keys like any other. */
const has = (record: Record<string, Json>, key: string) => Object.hasOwn(record, key) && record[key] !== undefined;

/** Equal as JSON text, key order included; shared parts compare in O(1). */
function sameText(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => sameText(item, b[i]));
  if (!isRecord(a) || !isRecord(b)) return false;
  const keys = jsonKeys(a);
  const other = jsonKeys(b);
  return keys.length === other.length && keys.every((key, i) => key === other[i] && sameText(a[key], b[key]));
}

/** The steps that turn `before` into `after` (both JSON documents). */
export function documentDelta(before: Json, after: Json): DeltaOp[] {
  const ops: DeltaOp[] = [];
  diff(before, after, [], ops);
  return ops;
}

function diff(before: Json, after: Json, path: Path, ops: DeltaOp[]): void {
  if (before === after) return;
  if (Array.isArray(before) && Array.isArray(after)) return diffList(before, after, path, ops);
  if (!isRecord(before) || !isRecord(after)) {
    if (!sameText(before, after)) ops.push(['set', path, after]);
    return;
  }
  const keys = jsonKeys(after);
  const kept = jsonKeys(before).filter((key) => has(after, key));
  const added = keys.filter((key) => !has(before, key));
  // Applying keeps the kept keys where they are and appends the added ones:
  // when that is not the new order, the record is written out whole.
  const order = [...kept, ...added];
  if (order.some((key, i) => key !== keys[i])) {
    ops.push(['set', path, after]);
    return;
  }
  for (const key of jsonKeys(before)) if (!has(after, key)) ops.push(['delete', [...path, key]]);
  for (const key of keys) {
    if (!has(before, key)) ops.push(['set', [...path, key], after[key]]);
    else diff(before[key], after[key], [...path, key], ops);
  }
}

/** A list of the same length is compared item by item; any other is spliced between the equal runs at both ends. */
function diffList(before: Json[], after: Json[], path: Path, ops: DeltaOp[]): void {
  const n = before.length;
  const m = after.length;
  if (n === m) {
    for (let i = 0; i < n; i++) if (before[i] !== after[i]) diff(before[i], after[i], [...path, i], ops);
    return;
  }
  // the same items first (found once per pair of lists), then equal ones
  let { head, tail } = identicalEnds(before, after);
  while (head < n - tail && head < m - tail && sameText(before[head], after[head])) head++;
  while (tail < n - head && tail < m - head && sameText(before[n - 1 - tail], after[m - 1 - tail])) tail++;
  // JSON writes a hole or undefined in a list as null.
  ops.push(['splice', path, head, n - head - tail, after.slice(head, m - tail).map((item) => (item === undefined ? null : item))]);
}

/**
 * Applies a delta to a document parsed from its stored text (which it
 * changes) and returns the result.
 */
export function applyDelta(document: Json, ops: DeltaOp[]): Json {
  let root = document;
  for (const op of ops) {
    const path = op[1];
    if (path.length === 0) {
      if (op[0] !== 'set') throw new Error(`a ${op[0]} step needs a path`);
      root = op[2];
      continue;
    }
    let parent = root as Record<string | number, Json>;
    for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, Json>;
    const last = path[path.length - 1];
    // defined, not assigned: assigning "__proto__" would set the prototype
    if (op[0] === 'set') Object.defineProperty(parent, last, { value: op[2], writable: true, enumerable: true, configurable: true });
    else if (op[0] === 'delete') delete parent[last];
    else {
      const list = parent[last] as Json[];
      const [, , start, count, items] = op;
      // in place for a few items (a 100k-rule list is not copied per delta); a spread of many would pass too many arguments
      if (items.length <= 1000) list.splice(start, count, ...items);
      else parent[last] = [...list.slice(0, start), ...items, ...list.slice(start + count)];
    }
  }
  return root;
}

/**
 * Whether a delta carries more than `limit` JSON values (a rule is about
 * ten), counted no further than that: a delta that replaces a 100k-rule list
 * is not worth writing out first only to find it outgrows the document.
 */
export function deltaExceeds(ops: DeltaOp[], limit: number): boolean {
  let count = 0;
  const pending: Json[] = ops.map((op) => (op[0] === 'splice' ? op[4] : op[0] === 'set' ? op[2] : null));
  while (pending.length) {
    const next = pending.pop();
    if (++count > limit) return true;
    if (next && typeof next === 'object') for (const item of Object.values(next)) pending.push(item);
  }
  return false;
}
