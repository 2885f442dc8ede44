// Ids name nft comments and counters, so they must be unique across the
// document (rules of every policy, NAT, static routes). At 100k rules,
// hashing every id on every commit costs more than the rest of a one-rule
// commit's checks; but a commit changes a few items of lists whose other
// items are the committed ones (model/shared-document.ts). So the ids of the
// last document found clean are kept, and a document whose lists differ
// from those (frozen by now, so unchanged since they were checked) in a
// short middle run each is checked against them; only a duplicate, a change
// too large, or lists that were never committed take the full walk, which
// is also what names the places.
import type { Config } from './schema.js';
import type { ProblemList } from './problems.js';
import { identicalEnds } from './list-ends.js';

type Item = { id: string };

/** An absent list: one object, frozen, so that it compares equal to itself from one document to the next. */
const NONE: Item[] = Object.freeze([]) as unknown as Item[];

/** The lists whose ids must be unique together, in the order problems name them. */
function idLists(config: Config): Array<{ path: string; items: Item[] }> {
  return [
    ...(config.firewall?.policies ?? []).map((policy, p) => ({ path: `/firewall/policies/${p}/rules`, items: policy.rules })),
    { path: '/nat/egress', items: config.nat?.egress ?? NONE },
    { path: '/nat/port_forwards', items: config.nat?.port_forwards ?? NONE },
    { path: '/nat/one_to_one', items: config.nat?.one_to_one ?? NONE },
    { path: '/routes/static', items: config.routes?.static ?? NONE },
  ];
}

/** The most items a list may change by and still be checked against the last clean ids. */
const MAX_CHANGED = 1000;

/** The last document whose ids were all unique: its lists (as they were) and their ids (each with its first place). */
let clean: { lists: Item[][]; ids: Map<string, number> } | undefined;

export function verifyUniqueIds(config: Config, problems: ProblemList): void {
  const lists = idLists(config);
  if (uniqueAgainstClean(lists.map((l) => l.items))) return;
  // A place is list * PLACE_STRIDE + index; lists hold at most 200k items (the schema), below the stride.
  const PLACE_STRIDE = 2 ** 20;
  const pathOf = (place: number) => `${lists[Math.floor(place / PLACE_STRIDE)].path}/${place % PLACE_STRIDE}/id`;
  // one map: the ids, and where each was first (a second set of 100k ids cost as much again)
  const seen = new Map<string, number>();
  let duplicates = false;
  lists.forEach(({ items }, list) => {
    for (let i = 0; i < items.length; i++) {
      const id = items[i].id;
      const earlier = seen.get(id);
      if (earlier === undefined) seen.set(id, list * PLACE_STRIDE + i);
      else {
        duplicates = true;
        problems.add(pathOf(list * PLACE_STRIDE + i), `id "${id}" is already used at ${pathOf(earlier)}`);
      }
    }
  });
  clean = duplicates ? undefined : { lists: lists.map((l) => l.items), ids: seen };
}

/**
 * True when the lists surely hold no id twice: each differs from the clean
 * document's list (frozen: committed, so its ids are still the kept ones)
 * only in a middle run of at most MAX_CHANGED items, and no id that run adds
 * is added twice or stays elsewhere. The clean ids held each id once, so
 * that is exactly when the new lists hold each id at most once; they become
 * the clean ones. False means "not known": the full walk decides.
 */
function uniqueAgainstClean(lists: Item[][]): boolean {
  if (!clean || clean.lists.length !== lists.length || !clean.lists.every((list) => Object.isFrozen(list))) return false;
  const removed = new Set<string>();
  const added: string[] = [];
  for (let l = 0; l < lists.length; l++) {
    const before = clean.lists[l];
    const after = lists[l];
    const { head, tail } = identicalEnds(before, after);
    if (before.length - head - tail > MAX_CHANGED || after.length - head - tail > MAX_CHANGED) return false;
    for (let i = head; i < before.length - tail; i++) removed.add(before[i].id);
    for (let i = head; i < after.length - tail; i++) added.push(after[i].id);
  }
  const adding = new Set<string>();
  for (const id of added) {
    if (adding.has(id) || (clean.ids.has(id) && !removed.has(id))) return false;
    adding.add(id);
  }
  // These lists are clean now, and the next commit is most likely made on them.
  for (const id of removed) clean.ids.delete(id);
  for (const id of adding) clean.ids.set(id, -1); // a place is needed only by the full walk, which finds its own
  clean.lists = lists;
  return true;
}
