// The plan of a commit at two levels: the document diff (config: which
// objects change, by document path, secrets masked) and, per subsystem, the
// difference of the describe() lines of the running and the new artifact
// (kernel: by content). What a dry run shows is exactly what apply changes.
// A subsystem may describe in chunks (describeChunks): the plan is still the
// diff of the whole line lists, but a chunk both artifacts share (the same
// array) is skipped, so a one-rule commit at 100k rules diffs one set.
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
 * The Set of a chunk's lines, built once per lines array: subsystems return
 * the same arrays for the same artifact, the new artifact of one commit is
 * the running one of the next, and a chunk a change did not touch is the
 * same array in both (a set of 100k elements).
 */
const lineSets = new WeakMap<readonly string[], Set<string>>();
function lineSet(lines: readonly string[]): Set<string> {
  let set = lineSets.get(lines);
  if (!set) {
    set = new Set(lines);
    lineSets.set(lines, set);
  }
  return set;
}

/** The Set of all lines of a describe result, for when many lines must be looked up anywhere in it. */
const allLineSets = new WeakMap<readonly PlanChunk[], Set<string>>();
function allLineSet(chunks: readonly PlanChunk[]): Set<string> {
  let set = allLineSets.get(chunks);
  if (!set) {
    set = new Set();
    for (const chunk of chunks) for (const line of chunk.lines) set.add(line);
    allLineSets.set(chunks, set);
  }
  return set;
}

/** After this many look-ups chunk by chunk, one Set of all lines is cheaper. */
const LOOKUPS_BEFORE_ALL_LINES = 64;

/** Whether a line is anywhere in `chunks`: chunk by chunk for a few lines (a line moved between chunks), one Set for many (a new chunk). */
function presenceIn(chunks: readonly PlanChunk[]): (line: string) => boolean {
  let lookups = 0;
  return (line) => {
    if (++lookups > LOOKUPS_BEFORE_ALL_LINES) return allLineSet(chunks).has(line);
    return chunks.some((chunk) => lineSet(chunk.lines).has(line));
  };
}

/**
 * The lines of `from`, in order, that `to` lacks: the first PLAN_LINES and
 * how many there are. A chunk whose lines are the same array in `to` (by
 * key) has none; the others are looked up in their chunk of `to` first.
 */
function missingLines(from: readonly PlanChunk[], to: readonly PlanChunk[]): { lines: string[]; count: number } {
  const toByKey = new Map(to.map((chunk) => [chunk.key, chunk.lines]));
  const lines: string[] = [];
  let count = 0;
  let elsewhere: ((line: string) => boolean) | undefined;
  for (const chunk of from) {
    const peer = toByKey.get(chunk.key);
    if (peer === chunk.lines) continue;
    const peerLines = peer && lineSet(peer);
    for (const line of chunk.lines) {
      if (peerLines?.has(line)) continue;
      elsewhere ??= presenceIn(to);
      if (elsewhere(line)) continue;
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
