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

/** Milliseconds since `start` (a performance.now()), to a tenth. */
export const msSince = (start: number) => Math.round((performance.now() - start) * 10) / 10;

/**
 * Applies `artifacts` (by subsystem name) and returns each subsystem's
 * actions; `timings` gets each subsystem's snapshot + apply time in ms.
 * `running`: the artifacts known to be applied (all of them, without
 * errors since); a subsystem whose artifact equals its running one is left
 * alone (no actions, no timing). Throws CommitFailed after rolling back.
 */
export async function applyAll(
  subsystems: Subsystem[],
  artifacts: Map<string, unknown>,
  log: Logger,
  options: { confirmTimeoutS?: number; running?: Map<string, unknown> } = {},
  timings: Record<string, number> = {},
): Promise<Record<string, string[]>> {
  const snapshots: Array<{ subsystem: Subsystem; snapshot: unknown }> = [];
  const actions: Record<string, string[]> = {};
  const { running, ...applyOptions } = options;
  for (const subsystem of subsystems) {
    const desired = artifacts.get(subsystem.name);
    if (running?.has(subsystem.name) && sameJson(running.get(subsystem.name), desired)) {
      actions[subsystem.name] = [];
      continue;
    }
    const start = performance.now();
    snapshots.push({ subsystem, snapshot: await subsystem.snapshot(desired) });
    try {
      actions[subsystem.name] = await subsystem.apply(desired, applyOptions);
      timings[subsystem.name] = msSince(start);
    } catch (error) {
      timings[subsystem.name] = msSince(start);
      const rollbackErrors: string[] = [];
      for (const { subsystem: touched, snapshot } of snapshots.reverse()) {
        try {
          await touched.apply(snapshot);
        } catch (undoError) {
          rollbackErrors.push(`${touched.name}: ${(undoError as Error).message}`);
        }
      }
      const path = error instanceof ApplyFailed ? error.path : undefined;
      log.error('apply failed, rolled back', { subsystem: subsystem.name, error: (error as Error).message, rollbackErrors });
      throw new CommitFailed(subsystem.name, (error as Error).message, path, rollbackErrors.length === 0, rollbackErrors);
    }
  }
  return actions;
}
