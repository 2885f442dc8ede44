// The plan of a commit at two levels: the document diff (config: which
// objects change, by document path, secrets masked) and, per subsystem, the
// difference of the describe() lines of the running and the new artifact
// (kernel: by content). What a dry run shows is exactly what apply changes.
import { redactedDiff, type DocumentChange } from '../model/diff.js';
import type { Subsystem } from './subsystem.js';

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
 * The Set of a describe() result, built once per result: subsystems return
 * the same array for the same artifact, and the new artifact of one commit
 * is the running one of the next (200k lines at 100k rules).
 */
const lineSets = new WeakMap<string[], Set<string>>();
function lineSet(lines: string[]): Set<string> {
  let set = lineSets.get(lines);
  if (!set) {
    set = new Set(lines);
    lineSets.set(lines, set);
  }
  return set;
}

/**
 * Set-based, so O(n) in the lines (a 100k-rule table has 200k of them).
 */
export function computePlan(subsystems: Subsystem[], before: Map<string, unknown> | undefined, after: Map<string, unknown>, documents?: { before: unknown; after: unknown }): Plan {
  const plans = subsystems.map((subsystem): SubsystemPlan => {
    const old = before?.has(subsystem.name) ? subsystem.describe(before.get(subsystem.name)) : [];
    const next = subsystem.describe(after.get(subsystem.name));
    const oldSet = lineSet(old);
    const nextSet = lineSet(next);
    const add = next.filter((l) => !oldSet.has(l));
    const remove = old.filter((l) => !nextSet.has(l));
    const reordered = !add.length && !remove.length && (old.length !== next.length || old.some((line, i) => line !== next[i]));
    return {
      subsystem: subsystem.name, add: add.slice(0, PLAN_LINES), remove: remove.slice(0, PLAN_LINES), reordered,
      added: add.length, removed: remove.length, truncated: add.length > PLAN_LINES || remove.length > PLAN_LINES,
    };
  });
  const config = documents ? redactedDiff(documents.before ?? {}, documents.after, PLAN_LINES) : { changes: [], total: 0 };
  return {
    changed: plans.some((s) => s.added || s.removed || s.reordered),
    config: config.changes,
    subsystems: plans,
    counts: { configChanges: config.total, added: plans.reduce((n, s) => n + s.added, 0), removed: plans.reduce((n, s) => n + s.removed, 0) },
  };
}
