// The plan of a commit at two levels: the document diff (config: which
// objects change, by document path, secrets masked) and, per subsystem, the
// difference of the describe() lines of the running and the new artifact
// (kernel: by content). What a dry run shows is exactly what apply changes.
// A subsystem may describe in chunks (describeChunks): the plan is still the
// diff of the whole line lists, but a chunk both artifacts share (the same
// array) is skipped, so a one-rule commit at 100k rules diffs one set.
// Each chunk's lines are kept in Sets by their first two words, built once
// per chunk, so a line moved to another chunk is found without a Set of all.
import { redactedDiff, type DocumentChange } from '../model/diff.js';
import type { PlanChunk, Subsystem } from './subsystem.js';

/** Kernel-level lines shown per subsystem and config changes shown per plan; the counts are always exact. */
export const PLAN_LINES = 200;

/** What one subsystem's apply would change, by content (its describe() lines). */
export interface SubsystemPlan {
  subsystem: string;
  /** lines the new artifact has and the running one lacks (the first PLAN_LINES) */
  add: string[];
  /** lines the running artifact has and the new one lacks (the first PLAN_LINES) */
  remove: string[];
  /** same lines, different order (rule order within a chain, route order) */
  reordered: boolean;
  /** exact number of added and removed lines */
  added: number;
  removed: number;
  /** add or remove was cut to PLAN_LINES */
  truncated: boolean;
}

export interface Plan {
  /** applying would change the kernel or a daemon: some subsystem adds, removes or reorders */
  changed: boolean;
  /** config level: which objects change, old -> new, by document path; secrets masked (the first PLAN_LINES) */
  config: DocumentChange[];
  /** kernel level, per subsystem */
  subsystems: SubsystemPlan[];
  counts: { configChanges: number; added: number; removed: number };
}

/**
 * A line's first two words. A chunk's lines mostly share them (`element
 * SETNAME`, `rule CHAIN`), so looking a line up by them asks one or two
 * chunks, not every chunk.
 */
function head(line: string): string {
  const first = line.indexOf(' ');
  const second = first < 0 ? -1 : line.indexOf(' ', first + 1);
  return second < 0 ? line : line.slice(0, second);
}

type LineIndex = Map<string, Set<string>>;
/**
 * A chunk's lines by head, built once per lines array: subsystems return the
 * same arrays for the same artifact, the new artifact of one commit is the
 * running one of the next, and a chunk a change did not touch is the same
 * array in both (a set of 100k elements).
 */
const chunkIndexes = new WeakMap<readonly string[], LineIndex>();
function chunkIndex(lines: readonly string[]): LineIndex {
  let index = chunkIndexes.get(lines);
  if (!index) {
    index = new Map();
    for (const line of lines) {
      const key = head(line);
      const same = index.get(key);
      if (same) same.add(line);
      else index.set(key, new Set([line]));
    }
    chunkIndexes.set(lines, index);
  }
  return index;
}

/** Every chunk's lines of a describe result by head (the chunks' own Sets): built from the chunk indexes, not line by line. */
const resultIndexes = new WeakMap<readonly PlanChunk[], Map<string, Array<Set<string>>>>();
function resultIndex(chunks: readonly PlanChunk[]): Map<string, Array<Set<string>>> {
  let index = resultIndexes.get(chunks);
  if (!index) {
    index = new Map();
    for (const chunk of chunks) {
      for (const [key, lines] of chunkIndex(chunk.lines)) {
        const sets = index.get(key);
        if (sets) sets.push(lines);
        else index.set(key, [lines]);
      }
    }
    resultIndexes.set(chunks, index);
  }
  return index;
}

/**
 * The lines of `from`, in order, that `to` lacks: the first PLAN_LINES and
 * how many there are. A chunk whose lines are the same array in `to` (by
 * key) has none; the others' lines are looked up in their chunk of `to`,
 * then (a line may move to another chunk) in every chunk of `to` by head.
 */
function missingLines(from: readonly PlanChunk[], to: readonly PlanChunk[]): { lines: string[]; count: number } {
  const toByKey = new Map(to.map((chunk) => [chunk.key, chunk.lines]));
  const lines: string[] = [];
  let count = 0;
  for (const chunk of from) {
    const peer = toByKey.get(chunk.key);
    if (peer === chunk.lines) continue;
    const peerIndex = peer && chunkIndex(peer);
    for (const line of chunk.lines) {
      const key = head(line);
      if (peerIndex?.get(key)?.has(line)) continue;
      if (resultIndex(to).get(key)?.some((lines) => lines.has(line))) continue;
      if (count++ < PLAN_LINES) lines.push(line);
    }
  }
  return { lines, count };
}

/** Whether the chunks' concatenations are the same sequence, stepping over a chunk both have at the same place. */
function sameSequence(a: readonly PlanChunk[], b: readonly PlanChunk[]): boolean {
  let i = 0, x = 0, j = 0, y = 0;
  for (;;) {
    for (; i < a.length && x === a[i].lines.length; i++) x = 0;
    for (; j < b.length && y === b[j].lines.length; j++) y = 0;
    if (i === a.length || j === b.length) return i === a.length && j === b.length;
    if (x === 0 && y === 0 && a[i].lines === b[j].lines) {
      i++;
      j++;
      continue;
    }
    if (a[i].lines[x] !== b[j].lines[y]) return false;
    x++;
    y++;
  }
}

const chunksOf = (subsystem: Subsystem, artifact: unknown): readonly PlanChunk[] =>
  subsystem.describeChunks ? subsystem.describeChunks(artifact) : [{ key: '', lines: subsystem.describe(artifact) }];

/**
 * One subsystem's plan from the chunks of its running and new artifact: the
 * lines of the new one the running one lacks, in order, and the other way
 * round (set-based, as if each were one list); reordered when none differ
 * but the order does. Work in proportion to the chunks that differ.
 */
export function subsystemPlan(subsystem: string, old: readonly PlanChunk[], next: readonly PlanChunk[]): SubsystemPlan {
  const add = missingLines(next, old);
  const remove = missingLines(old, next);
  const reordered = !add.count && !remove.count && !sameSequence(old, next);
  return {
    subsystem, add: add.lines, remove: remove.lines, reordered,
    added: add.count, removed: remove.count, truncated: add.count > PLAN_LINES || remove.count > PLAN_LINES,
  };
}

export function computePlan(subsystems: Subsystem[], before: Map<string, unknown> | undefined, after: Map<string, unknown>, documents?: { before: unknown; after: unknown }): Plan {
  const plans = subsystems.map((subsystem): SubsystemPlan => {
    const old = before?.has(subsystem.name) ? chunksOf(subsystem, before.get(subsystem.name)) : [];
    return subsystemPlan(subsystem.name, old, chunksOf(subsystem, after.get(subsystem.name)));
  });
  const config = documents ? redactedDiff(documents.before ?? {}, documents.after, PLAN_LINES) : { changes: [], total: 0 };
  return {
    changed: plans.some((s) => s.added || s.removed || s.reordered),
    config: config.changes,
    subsystems: plans,
    counts: { configChanges: config.total, added: plans.reduce((n, s) => n + s.added, 0), removed: plans.reduce((n, s) => n + s.removed, 0) },
  };
}
