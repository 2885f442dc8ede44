// A readable, structural diff of two config documents. List items that
// carry an id or name are matched by it, so inserting one rule shows as
// one added rule, not as every later rule changed.
import { REDACTED, SECRET_KEYS } from './secrets.js';
import { identicalEnds } from './list-ends.js';
export interface DocumentChange {
  op: 'add' | 'remove' | 'change';
  path: string;
  before?: unknown;
  after?: unknown;
}

const keyOf = (item: unknown): string | undefined => {
  if (!item || typeof item !== 'object') return undefined;
  const { id, name } = item as { id?: unknown; name?: unknown };
  return typeof id === 'string' ? `id:${id}` : typeof name === 'string' ? `name:${name}` : undefined;
};

/** keyOf(item) !== undefined, without building the key (every item of a 100k-rule list is asked). */
const hasKey = (item: unknown): boolean => {
  if (!item || typeof item !== 'object') return false;
  const { id, name } = item as { id?: unknown; name?: unknown };
  return typeof id === 'string' || typeof name === 'string';
};

const isPlain = (v: object) => Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null;

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * Equal as JSON (key order aside), without serializing: a commit of one rule
 * into a 100k-rule base compares 100k unchanged rules, and two JSON.stringify
 * calls per rule cost more than the rest of the diff.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  // not JSON (a Map, a class instance): equal only to itself, never by its (absent) enumerable keys
  if (!isPlain(a) || !isPlain(b)) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let count = 0;
  for (const key in x) {
    if (x[key] === undefined) continue; // JSON leaves undefined out
    count++;
    if (!(key in y) || !sameJson(x[key], y[key])) return false;
  }
  for (const key in y) if (y[key] !== undefined) count--;
  return count === 0;
}

/** Every item of a frozen list was asked once: a list is the plan's "after" in one commit and its "before" in the next. */
const keyedLists = new WeakMap<readonly unknown[], boolean>();

/** Every item has an id or a name (a loop: Array.prototype.every is several times slower on a frozen 100k-item list). */
function allKeyed(list: readonly unknown[]): boolean {
  const frozen = Object.isFrozen(list);
  let keyed = frozen ? keyedLists.get(list) : undefined;
  if (keyed === undefined) {
    keyed = true;
    for (let i = 0; i < list.length && keyed; i++) keyed = hasKey(list[i]);
    if (frozen) keyedLists.set(list, keyed);
  }
  return keyed;
}

/** allKeyed(before) && allKeyed(after); when `before` is, the items `after` shares with it at its ends need no look. */
function bothKeyed(before: readonly unknown[], after: readonly unknown[]): boolean {
  if (!allKeyed(before)) return false;
  if (keyedLists.has(after) || !Object.isFrozen(after)) return allKeyed(after);
  const { head, tail } = identicalEnds(before, after);
  let keyed = true;
  for (let i = head; i < after.length - tail && keyed; i++) keyed = hasKey(after[i]);
  keyedLists.set(after, keyed);
  return keyed;
}

export function diffDocuments(before: unknown, after: unknown, path = '', out: DocumentChange[] = []): DocumentChange[] {
  if (Array.isArray(before) && Array.isArray(after) && bothKeyed(before, after)) {
    // A commit of one rule into a 100k-rule list changes one place: skip the
    // equal runs at both ends (same key, same content) before matching the
    // rest by key. Keys are unique in a list (verify), so nothing in the
    // middle can match an item of the ends.
    const n = before.length;
    const m = after.length;
    // the same object (documents share their unchanged records) is the same item; then equal content under the same key
    const same = (i: number, j: number) => before[i] === after[j] || (keyOf(before[i]) === keyOf(after[j]) && sameJson(before[i], after[j]));
    let { head, tail } = identicalEnds(before, after);
    while (head < n - tail && head < m - tail && same(head, head)) head++;
    while (tail < n - head && tail < m - head && same(n - 1 - tail, m - 1 - tail)) tail++;
    const old = new Map<string, { item: unknown; i: number }>();
    for (let i = head; i < n - tail; i++) old.set(keyOf(before[i])!, { item: before[i], i });
    const seen = new Set<string>();
    for (let i = head; i < m - tail; i++) {
      const item = after[i];
      const k = keyOf(item)!;
      seen.add(k);
      const previous = old.get(k);
      if (!previous) out.push({ op: 'add', path: `${path}/${i}`, after: item });
      // Most items of a big list are unchanged: one walk that stops at the first difference.
      else if (!sameJson(previous.item, item)) diffDocuments(previous.item, item, `${path}/${i}`, out);
    }
    for (const [k, { item, i }] of old) if (!seen.has(k)) out.push({ op: 'remove', path: `${path}/${i}`, before: item });
    return out;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const n = Math.max(before.length, after.length);
    for (let i = 0; i < n; i++) {
      if (i >= after.length) out.push({ op: 'remove', path: `${path}/${i}`, before: before[i] });
      else if (i >= before.length) out.push({ op: 'add', path: `${path}/${i}`, after: after[i] });
      else diffDocuments(before[i], after[i], `${path}/${i}`, out);
    }
    return out;
  }
  if (isObject(before) && isObject(after)) {
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      // Most values are equal primitives: skip them before building their path (100k-rule documents).
      if (before[key] === after[key] && (before[key] === null || typeof before[key] !== 'object')) continue;
      if (!(key in after)) out.push({ op: 'remove', path: `${path}/${key}`, before: before[key] });
      else if (!(key in before)) out.push({ op: 'add', path: `${path}/${key}`, after: after[key] });
      else diffDocuments(before[key], after[key], `${path}/${key}`, out);
    }
    return out;
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) out.push({ op: 'change', path: path || '/', before, after });
  return out;
}

/** Items of a list a plan shows in a changed value; the rest are counted (a new policy of 100k rules is not sent back whole). */
export const PLAN_LIST_ITEMS = 100;

/** A changed value as the plan shows it: secrets masked, each list cut to PLAN_LIST_ITEMS items and a note of how many more. */
function planValue(value: unknown): unknown {
  if (Array.isArray(value)) {
    const shown = value.slice(0, PLAN_LIST_ITEMS).map(planValue);
    return value.length > PLAN_LIST_ITEMS ? [...shown, `... ${value.length - PLAN_LIST_ITEMS} more`] : shown;
  }
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.has(k) && typeof v === 'string' ? REDACTED : planValue(v);
  return out;
}

/**
 * The diff a plan shows: a changed secret is listed (its path says which)
 * but its values are masked, and added or removed objects have theirs masked
 * (and long lists in them cut, planValue). With `limit`, only the first
 * `limit` changes are returned (masking each costs a copy; a 100k-rule
 * commit has 100k), and `total` counts them all.
 */
export function redactedDiff(before: unknown, after: unknown, limit = Infinity): { changes: DocumentChange[]; total: number } {
  const all = diffDocuments(before, after);
  const changes = (all.length > limit ? all.slice(0, limit) : all).map((change) => {
    const key = change.path.slice(change.path.lastIndexOf('/') + 1);
    const mask = (value: unknown) => (SECRET_KEYS.has(key) && typeof value === 'string' ? REDACTED : planValue(value));
    return {
      ...change,
      ...('before' in change ? { before: mask(change.before) } : {}),
      ...('after' in change ? { after: mask(change.after) } : {}),
    };
  });
  return { changes, total: all.length };
}
