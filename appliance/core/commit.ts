// What a commit is asked to do and what it answers: the request, the
// outcome, the two ways it can fail, and the reconcile report. The
// Reconciler (reconciler.ts) implements the pipeline these describe.
import type { Config } from '../model/schema.js';
import type { Problem } from '../model/problems.js';
import type { Plan } from './plan.js';
import type { Revision, RevisionSummary, PendingConfirm } from './store.js';

export interface CommitRequest {
  document: unknown;
  author: string;
  comment?: string;
  source: Revision['source'];
  dryRun?: boolean;
  /** revert by itself unless confirmed within this many seconds */
  confirmTimeoutS?: number;
  /** the unconfirmed revision this commit reverts (set by revertUnconfirmed) */
  revertOf?: number;
}

/** A change that cannot start now (e.g. a commit awaits confirmation). */
export class CommitConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommitConflict';
  }
}

export interface CommitOutcome {
  dryRun: boolean;
  plan: Plan;
  revision?: RevisionSummary;
  /** commands run per subsystem (empty when the kernel already matched) */
  actions?: Record<string, string[]>;
  /** set when this commit reverts unless confirmed */
  pendingConfirm?: PendingConfirm;
  /** verify's warnings: accepted, but the operator should know (e.g. a port forward shadows the API) */
  warnings: Problem[];
  /** where the commit's time went (a dry run: prepare and plan only) */
  timings?: CommitTimings;
}

/**
 * Milliseconds per stage of one commit; apply per subsystem, in apply order
 * (its daemon or nft round trips). plan_ms counts the checks against the
 * system and the plan's own time, store_ms the revision's serialization and
 * write. In a commit that applies, the plan and the serialization run while
 * the firewall waits for nft (ApplyOptions.meanwhile): apply_ms.firewall is
 * wall time and includes whatever of them outlasted nft.
 */
export interface CommitTimings {
  prepare_ms: number;
  plan_ms: number;
  apply_ms: Record<string, number>;
  store_ms: number;
}

/** An apply that failed and was rolled back (or, if `rolledBack` is false, could not be). */
export class CommitFailed extends Error {
  constructor(
    readonly subsystem: string,
    message: string,
    readonly path: string | undefined,
    readonly rolledBack: boolean,
    readonly rollbackErrors: string[],
  ) {
    super(message);
    this.name = 'CommitFailed';
  }
}

/** One commit that reached apply (dry runs and rejected documents do not), for GET /metrics; revert: it reverted an unconfirmed commit. */
export type CommitAttempt = { source: Revision['source']; ok: boolean; seconds: number; revert: boolean; applySeconds: Record<string, number> };

export type CommittedListener = (revision: RevisionSummary, config: Config) => void;

export interface ReconcileReport {
  revision: number | null;
  repaired: Record<string, string[]>;
  errors: Record<string, string>;
}
