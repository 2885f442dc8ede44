// A commit's apply stage: every subsystem in order, and on any failure every
// subsystem touched so far (the failing one included) back to its snapshot,
// in reverse order, so the box is never left half-configured. A subsystem
// whose artifact equals the one running is not touched: its plan is empty,
// and reading the kernel to find nothing to do cost a one-rule commit more
// than the rest of it (links, routes: 100 ms); drift is the reconcile's.
import { ApplyFailed, type Subsystem } from './subsystem.js';
import { CommitFailed } from './commit.js';
import { sameJson } from '../model/diff.js';
import type { Logger } from '../platform/log.js';

/**
 * The subsystems whose artifact equals the one known to run (`running`:
 * all applied, no reconcile errors since): apply leaves them alone, and
 * check does not ask the system whether apply could do what it will not do.
 */
export function unchangedSubsystems(running: Map<string, unknown> | undefined, artifacts: Map<string, unknown>): Set<string> {
  const unchanged = new Set<string>();
  if (!running) return unchanged;
  for (const [name, desired] of artifacts) if (running.has(name) && sameJson(running.get(name), desired)) unchanged.add(name);
  return unchanged;
}

/** Milliseconds since `start` (a performance.now()), to a tenth. */
export const msSince = (start: number) => Math.round((performance.now() - start) * 10) / 10;

/**
 * Applies `artifacts` (by subsystem name) and returns each subsystem's
 * actions; `timings` gets each subsystem's snapshot + apply time in ms.
 * `unchanged`: the subsystems whose artifact equals the running one
 * (unchangedSubsystems), left alone (no actions, no timing). Throws
 * CommitFailed after rolling back.
 */
export async function applyAll(
  subsystems: Subsystem[],
  artifacts: Map<string, unknown>,
  log: Logger,
  options: { confirmTimeoutS?: number; unchanged?: ReadonlySet<string>; meanwhile?: () => void; prefetched?: ReadonlyMap<string, unknown> } = {},
  timings: Record<string, number> = {},
): Promise<Record<string, string[]>> {
  const snapshots: Array<{ subsystem: Subsystem; snapshot: unknown }> = [];
  const actions: Record<string, string[]> = {};
  const { unchanged, meanwhile, prefetched, ...applyOptions } = options;
  // The commit's kernel-free work, run once: while a subsystem waits for the kernel, or after the last one.
  let meanwhileDone = !meanwhile;
  let meanwhileError: unknown;
  const runMeanwhile = () => {
    if (meanwhileDone) return;
    meanwhileDone = true;
    try {
      meanwhile!();
    } catch (error) {
      meanwhileError = error;
    }
  };
  let current: Subsystem | undefined;
  try {
    for (const subsystem of subsystems) {
      const desired = artifacts.get(subsystem.name);
      if (unchanged?.has(subsystem.name)) {
        actions[subsystem.name] = [];
        continue;
      }
      current = subsystem;
      const start = performance.now();
      snapshots.push({ subsystem, snapshot: await subsystem.snapshot(desired) });
      try {
        actions[subsystem.name] = await subsystem.apply(desired, { ...applyOptions, meanwhile: runMeanwhile, prefetched: prefetched?.get(subsystem.name) });
      } finally {
        timings[subsystem.name] = msSince(start);
      }
    }
    current = undefined;
    runMeanwhile();
    // A commit that cannot finish its own work (a bug) must not leave the kernel ahead of the store.
    if (meanwhileError) throw meanwhileError;
  } catch (error) {
    const rollbackErrors: string[] = [];
    for (const { subsystem: touched, snapshot } of snapshots.reverse()) {
      try {
        await touched.apply(snapshot);
      } catch (undoError) {
        rollbackErrors.push(`${touched.name}: ${(undoError as Error).message}`);
      }
    }
    const failed = current?.name ?? 'commit';
    const path = error instanceof ApplyFailed ? error.path : undefined;
    log.error('apply failed, rolled back', { subsystem: failed, error: (error as Error).message, rollbackErrors });
    throw new CommitFailed(failed, (error as Error).message, path, rollbackErrors.length === 0, rollbackErrors);
  }
  return actions;
}
