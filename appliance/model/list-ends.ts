// Two versions of a list that share their unchanged items (shared-document.ts)
// differ in one middle run, between items that are the same objects at both
// ends. Every stage of a commit needs that run (validate, the id check, the
// compile, the plan's diff, the store's delta); finding it is a scan of both
// lists, a few ms each at 100k items (V8 reads frozen arrays slowly). Two
// frozen lists cannot change, so their run is found once and remembered
// (validate looks before the new document is frozen, so it scans its own).

export interface ListEnds {
  /** before[i] === after[i] for i < head */
  head: number;
  /** before[n - 1 - i] === after[m - 1 - i] for i < tail; head + tail <= min(n, m) */
  tail: number;
}

/** By the newer list: the older list it was compared with, and the answer. */
const known = new WeakMap<readonly unknown[], { before: readonly unknown[]; ends: ListEnds }>();

/** How many items at each end of `after` are the very items (===) of `before` there. */
export function identicalEnds(before: readonly unknown[], after: readonly unknown[]): ListEnds {
  const frozen = Object.isFrozen(before) && Object.isFrozen(after);
  if (frozen) {
    const seen = known.get(after);
    if (seen?.before === before) return seen.ends;
  }
  const n = before.length;
  const m = after.length;
  let head = 0;
  while (head < n && head < m && before[head] === after[head]) head++;
  let tail = 0;
  while (tail < n - head && tail < m - head && before[n - 1 - tail] === after[m - 1 - tail]) tail++;
  const ends = { head, tail };
  if (frozen) known.set(after, { before, ends });
  return ends;
}
