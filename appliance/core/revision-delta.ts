// A revision stored as the change from its parent, not as a whole document:
// one rule added to a 100k-rule document is a few hundred bytes to write,
// where the whole document is 10 MB (and 10 MB more of database per commit).
// The delta is exact: applied to the parent's JSON it gives the revision's
// JSON byte for byte (same values, same key order), which the store relies
// on, and the store keeps a whole document every so often (revision-text.ts
// decides) so that reading an old revision replays a bounded chain.
//
// Two operations suffice: replace the value at a path, and splice a list.
// Lists are compared from both ends (a commit changes one place in a long
// list); objects whose keys keep their order are compared key by key, and
// anything else is replaced whole.

export type Path = Array<string | number>;

export type DeltaOp =
  | { set: Path; value: unknown }
  | { splice: Path; start: number; remove: number; items: unknown[] };

/** A delta that would carry more than this many JSON values (a rule is about ten) is not worth it: the whole document is stored instead. */
export const MAX_DELTA_VALUES = 50_000;

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

/** The keys JSON.stringify writes, in its order. */
const writtenKeys = (o: Json) => Object.keys(o).filter((k) => o[k] !== undefined && typeof o[k] !== 'function');

/**
 * Equal as JSON text: same values and the same key order. Objects shared
 * between the two documents (the usual case after an edit) are equal at once.
 */
export function sameText(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameText(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = writtenKeys(a as Json);
  const kb = writtenKeys(b as Json);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i] || !sameText((a as Json)[ka[i]], (b as Json)[kb[i]])) return false;
  }
  return true;
}

/** JSON values (objects, arrays, scalars) in `value`, counted up to `limit` and no further. */
function valuesIn(value: unknown, limit: number): number {
  let count = 0;
  const pending = [value];
  while (pending.length && count <= limit) {
    const next = pending.pop();
    count++;
    if (next && typeof next === 'object') for (const item of Object.values(next)) pending.push(item);
  }
  return count;
}

/**
 * The operations that turn `before` into `after` (as JSON), or undefined
 * when they would carry more than `maxValues` values (store the whole
 * document then). Empty when the two are equal.
 */
export function revisionDelta(before: unknown, after: unknown, maxValues = MAX_DELTA_VALUES): DeltaOp[] | undefined {
  const ops: DeltaOp[] = [];
  let values = 0;
  const push = (op: DeltaOp): boolean => {
    ops.push(op);
    values += valuesIn('items' in op ? op.items : op.value, maxValues - values);
    return values <= maxValues;
  };
  const walk = (b: unknown, a: unknown, path: Path): boolean => {
    if (b === a) return true;
    if (Array.isArray(b) && Array.isArray(a)) {
      let head = 0;
      while (head < b.length && head < a.length && sameText(b[head], a[head])) head++;
      let tail = 0;
      while (tail < b.length - head && tail < a.length - head && sameText(b[b.length - 1 - tail], a[a.length - 1 - tail])) tail++;
      const removed = b.length - head - tail;
      const added = a.length - head - tail;
      if (!removed && !added) return true;
      // one item changed in place (a policy whose rules changed): go into it
      if (removed === 1 && added === 1 && typeof b[head] === 'object' && b[head] !== null && typeof a[head] === 'object' && a[head] !== null) {
        return walk(b[head], a[head], [...path, head]);
      }
      return push({ splice: path, start: head, remove: removed, items: a.slice(head, head + added) });
    }
    if (isRecord(b) && isRecord(a)) {
      const kb = writtenKeys(b);
      const ka = writtenKeys(a);
      if (kb.length === ka.length && kb.every((k, i) => k === ka[i])) {
        for (const key of ka) if (!sameText(b[key], a[key]) && !walk(b[key], a[key], [...path, key])) return false;
        return true;
      }
    }
    return sameText(b, a) || push({ set: path, value: a });
  };
  return walk(before, after, []) ? ops : undefined;
}

/**
 * Applies a delta to a document in place (a fresh parse of the parent's
 * JSON) and returns it (the root itself may be replaced). Throws when the
 * delta does not fit the document: the stored chain is broken.
 */
export function applyRevisionDelta(document: unknown, ops: DeltaOp[]): unknown {
  let root = document;
  for (const op of ops) {
    const path = 'set' in op ? op.set : op.splice;
    if ('set' in op && path.length === 0) {
      root = op.value;
      continue;
    }
    const at = 'set' in op ? path.slice(0, -1) : path;
    let node: unknown = root;
    for (const key of at) {
      if (node === null || typeof node !== 'object') throw new Error(`revision delta does not fit its parent at /${path.join('/')}`);
      node = (node as Record<string | number, unknown>)[key];
    }
    if ('set' in op) {
      if (node === null || typeof node !== 'object') throw new Error(`revision delta does not fit its parent at /${path.join('/')}`);
      (node as Record<string | number, unknown>)[path[path.length - 1]] = op.value;
    } else {
      if (!Array.isArray(node) || op.start + op.remove > node.length) throw new Error(`revision delta does not fit its parent at /${path.join('/')}`);
      node.splice(op.start, op.remove, ...op.items);
    }
  }
  return root;
}
