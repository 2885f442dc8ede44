// Two versions of a list that share their unchanged items (shared-document.ts)
// differ in one middle run, between items that are the same objects at both
// ends. Every stage of a commit needs that run (validate, the id check, the
// compile, the plan's diff, the store's delta); finding it is a scan of both
// lists, a few ms each at 100k items (V8 reads frozen arrays slowly). Two
// frozen lists cannot change, so their run is found once and remembered.
// An edit through the API (a rule added, replaced or deleted) knows its run
// already: spliceEdited() records it, and no stage scans for it, nor for the
// new items freezeDocument and restoreSecrets look for.

export interface ListEnds {
  /** before[i] === after[i] for i < head */
  head: number;
  /** before[n - 1 - i] === after[m - 1 - i] for i < tail; head + tail <= min(n, m) */
  tail: number;
}

/**
 * By the newer list: the older list it was compared with (or made from),
 * the answer, and the newer list's length then (a list that is not frozen
 * and changed length since is not what was recorded).
 */
const known = new WeakMap<readonly unknown[], { before: readonly unknown[]; ends: ListEnds; length: number }>();

/** By an edit's copy of a committed list (editableCopy): that list, until the copy's one recorded edit. */
const copies = new WeakMap<readonly unknown[], readonly unknown[]>();

/** How many items at each end of `after` are the very items (===) of `before` there. */
export function identicalEnds(before: readonly unknown[], after: readonly unknown[]): ListEnds {
  const seen = known.get(after);
  if (seen?.before === before && seen.length === after.length) return seen.ends;
  const n = before.length;
  const m = after.length;
  let head = 0;
  while (head < n && head < m && before[head] === after[head]) head++;
  let tail = 0;
  while (tail < n - head && tail < m - head && before[n - 1 - tail] === after[m - 1 - tail]) tail++;
  const ends = { head, tail };
  if (Object.isFrozen(before) && Object.isFrozen(after)) known.set(after, { before, ends, length: m });
  return ends;
}

/** editableCopy made `copy` by spreading the committed list `of`. */
export function noteCopy(copy: readonly unknown[], of: readonly unknown[]): void {
  copies.set(copy, of);
}

/**
 * list.splice(at, removed, ...inserted), recording how the list then
 * differs from the committed list it was copied from, when it is such a
 * copy and this is its first edit. Only the first is recorded: after a
 * second, or any change made otherwise, the stages scan as for any list.
 * So an edit that splices a copy once and changes it no further in any
 * other way may use this (the API's list resources do).
 */
export function spliceEdited<T>(list: T[], at: number, removed: number, ...inserted: T[]): void {
  const from = copies.get(list);
  copies.delete(list);
  known.delete(list);
  const length = list.length;
  const start = Math.min(Math.max(at, 0), length);
  const gone = Math.min(Math.max(removed, 0), length - start);
  list.splice(start, gone, ...inserted);
  if (from && Object.isFrozen(from) && from.length === length) known.set(list, { before: from, ends: { head: start, tail: length - start - gone }, length: list.length });
}

/**
 * The ends `list` shares with a committed list, when known without a scan:
 * outside them its items are that list's (frozen all the way down), so only
 * the middle can hold anything new.
 */
export function sharedEnds(list: readonly unknown[]): ListEnds | undefined {
  const seen = known.get(list);
  return seen && seen.length === list.length && Object.isFrozen(seen.before) ? seen.ends : undefined;
}
