// The commit pipeline: validate, verify, render, plan, apply (with rollback),
// and the level-based reconcile loop that repairs drift. Every change to the
// box, from the API, the CLI or at boot, goes through this one class.
import { emptyConfig, type Config } from '../model/schema.js';
import { documentValidator, type Validator } from '../model/validate.js';
import { verifyConfig } from '../model/verify.js';
import { ConfigRejected, isWarning, uniqueProblems, type Problem } from '../model/problems.js';
import { restoreSecrets } from '../model/secrets.js';
import type { Capabilities } from '../platform/capabilities.js';
import { ApplyFailed, type Subsystem } from './subsystem.js';
import type { Store, Revision, RevisionSummary, PendingConfirm } from './store.js';
import type { Logger } from '../platform/log.js';
import { SerialQueue } from '../platform/serial-queue.js';
import { computePlan, type Plan } from './plan.js';

export { PLAN_LINES, type Plan, type SubsystemPlan } from './plan.js';

export interface CommitRequest {
  document: unknown;
  author: string;
  comment?: string;
  source: Revision['source'];
  dryRun?: boolean;
  /** revert by itself unless confirmed within this many seconds */
  confirmTimeoutS?: number;
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

type Artifacts = Map<string, unknown>;

export type CommittedListener = (revision: RevisionSummary, config: Config) => void;

export interface ReconcileReport {
  revision: number | null;
  repaired: Record<string, string[]>;
  errors: Record<string, string>;
}

export class Reconciler {
  /** Artifacts of the revision that is running now. */
  private running: Artifacts | undefined;
  private readonly committedListeners: CommittedListener[] = [];

  /**
   * Called after every revision that is applied and stored, whatever made it:
   * the API, a rollback, a cancel or the confirm timer's revert.
   */
  onCommitted(listener: CommittedListener): void {
    this.committedListeners.push(listener);
  }

  /** One change at a time: commits, edits, rollbacks and reconciles are serialized. */
  private readonly queue = new SerialQueue();
  private reconcileTimer: NodeJS.Timeout | undefined;
  lastReconcile: (ReconcileReport & { at: string }) | undefined;
  /** validate: the core sections plus the sections the subsystems declare */
  private readonly validate: Validator;

  constructor(
    private readonly store: Store,
    private readonly subsystems: Subsystem[],
    readonly capabilities: Capabilities,
    private readonly log: Logger,
  ) {
    this.validate = documentValidator(Object.fromEntries(subsystems.flatMap((d) => (d.schemaSection ? [[d.schemaSection.key, d.schemaSection.schema]] : []))));
  }

  /** validate + verify + render, with masked secrets filled in from the running revision. */
  prepare(document: unknown): { config: Config; artifacts: Artifacts; warnings: Problem[] } {
    const current = this.store.currentRevision();
    const restored = restoreSecrets(document, current?.document ?? {});
    if (restored.unresolved.length) {
      throw new ConfigRejected('validate', restored.unresolved.map((path) => ({ path, message: 'a masked secret can only be kept when the same object already has one; send the value' })));
    }
    const config = this.validate(restored.value);
    const found: Problem[] = [...verifyConfig(config)];
    for (const subsystem of this.subsystems) found.push(...subsystem.verify(config, this.capabilities));
    const problems = uniqueProblems(found);
    const errors = problems.filter((p) => !isWarning(p));
    if (errors.length) throw new ConfigRejected('verify', errors);
    const artifacts: Artifacts = new Map(this.subsystems.map((d) => [d.name, d.render(config, this.capabilities)]));
    return { config, artifacts, warnings: problems.filter(isWarning) };
  }

  /** The two-level plan (core/plan.ts): the document diff and each subsystem's kernel-level lines. */
  plan(before: Artifacts | undefined, after: Artifacts, documents?: { before: unknown; after: unknown }): Plan {
    return computePlan(this.subsystems, before, after, documents);
  }

  private runningArtifacts(): Artifacts | undefined {
    if (this.running) return this.running;
    const current = this.store.currentRevision();
    return current ? this.prepare(current.document).artifacts : undefined;
  }

  commit(request: CommitRequest): Promise<CommitOutcome> {
    return this.queue.run(() => this.commitNow(request));
  }

  /**
   * Read-modify-write in the queue: `edit` gets a private copy of the current
   * document and its revision (null before the first commit) and returns the
   * new document, which is committed before any other change may start. So
   * two edits never both read revision N and the second never drops the
   * first's change. If `edit` throws (e.g. a stale If-Match), nothing is committed.
   */
  edit(request: Omit<CommitRequest, 'document'>, edit: (current: Config, revision: number | null) => unknown): Promise<CommitOutcome> {
    return this.queue.run(() => {
      const current = this.store.currentRevision();
      const document = edit(structuredClone(current?.document ?? emptyConfig()), current?.id ?? null);
      return this.commitNow({ ...request, document });
    });
  }

  private async commitNow(request: CommitRequest): Promise<CommitOutcome> {
    {
      const pending = this.store.pendingConfirm();
      if (pending && request.source !== 'rollback' && !request.dryRun) {
        throw new CommitConflict(`revision ${pending.revision} awaits confirmation until ${pending.deadline}; confirm it (POST /v1/commit/confirm) or cancel it (POST /v1/commit/cancel) first`);
      }
      if (request.confirmTimeoutS && this.store.currentRevisionId() === null) {
        throw new CommitConflict('the first commit cannot wait for confirmation: there is no earlier revision to return to');
      }
      const { config, artifacts, warnings } = this.prepare(request.document);
      const plan = this.plan(this.runningArtifacts(), artifacts, { before: this.store.currentRevision()?.document, after: config });
      const problems: Problem[] = [];
      for (const subsystem of this.subsystems) problems.push(...((await subsystem.check?.(artifacts.get(subsystem.name), config)) ?? []));
      if (problems.length) throw new ConfigRejected('check', problems);
      if (request.dryRun) return { dryRun: true, plan, warnings };
      try {
        const parent = this.store.currentRevisionId();
        const actions = await this.applyAll(artifacts, { confirmTimeoutS: request.confirmTimeoutS });
        const revision = this.store.commitRevision(config, { author: request.author, comment: request.comment ?? '', source: request.source });
        this.running = artifacts;
        if (request.confirmTimeoutS) {
          this.armConfirm({ revision: revision.id, revertTo: parent, deadline: new Date(Date.now() + request.confirmTimeoutS * 1000).toISOString(), author: request.author });
        }
        this.store.audit({ actor: request.author, action: `commit (${request.source})`, revision: revision.id, outcome: 'ok', detail: request.comment ?? '' });
        this.log.info('committed revision', { revision: revision.id, author: request.author, source: request.source });
        const { document: _document, ...summary } = revision;
        for (const listener of this.committedListeners) listener(summary, config);
        return { dryRun: false, plan, warnings, revision: summary, actions, ...(request.confirmTimeoutS ? { pendingConfirm: this.store.pendingConfirm() } : {}) };
      } catch (error) {
        this.store.audit({ actor: request.author, action: `commit (${request.source})`, revision: null, outcome: 'failed', detail: (error as Error).message });
        throw error;
      }
    }
  }

  // Commit-confirm: a commit with a timeout reverts by itself unless it is
  // confirmed, so a change that cuts the operator off heals itself. The
  // deadline is stored, so a restart inside the window still reverts.

  private confirmTimer: NodeJS.Timeout | undefined;

  private armConfirm(pending: PendingConfirm): void {
    this.store.setPendingConfirm(pending);
    if (this.confirmTimer) clearTimeout(this.confirmTimer);
    const delay = Math.max(0, Date.parse(pending.deadline) - Date.now());
    this.confirmTimer = setTimeout(() => {
      this.revertUnconfirmed(pending.revision).catch((error: Error) => this.log.error("automatic revert failed", { revision: pending.revision, error: error.message }));
    }, delay);
    this.confirmTimer.unref();
    this.log.warn('commit awaits confirmation', { revision: pending.revision, deadline: pending.deadline });
  }

  pendingConfirm(): PendingConfirm | undefined {
    return this.store.pendingConfirm();
  }

  confirm(author: string): Promise<PendingConfirm> {
    return this.queue.run(async () => {
      const pending = this.store.pendingConfirm();
      if (!pending) throw new CommitConflict('no commit awaits confirmation');
      for (const subsystem of this.subsystems) await subsystem.confirm?.();
      if (this.confirmTimer) clearTimeout(this.confirmTimer);
      this.store.setPendingConfirm(undefined);
      this.store.audit({ actor: author, action: 'confirm', revision: pending.revision, outcome: 'ok', detail: '' });
      this.log.info('commit confirmed', { revision: pending.revision, author });
      return pending;
    });
  }

  /** Cancel (or the timer): go back to the revision before the unconfirmed one. */
  revertUnconfirmed(revision: number, author = 'junction:confirm-timeout'): Promise<CommitOutcome> {
    return this.queue.run(async () => {
      const pending = this.store.pendingConfirm();
      if (!pending || pending.revision !== revision) throw new CommitConflict(`revision ${revision} does not await confirmation`);
      if (this.confirmTimer) clearTimeout(this.confirmTimer);
      this.store.setPendingConfirm(undefined);
      const target = pending.revertTo === null ? undefined : this.store.revision(pending.revertTo);
      this.log.warn('reverting unconfirmed commit', { revision, revertTo: pending.revertTo, author });
      const document = target?.document ?? { interfaces: [], zones: [] };
      return this.commitNow({ document, author, comment: `revert of unconfirmed revision ${revision}`, source: 'rollback' });
    });
  }

  /**
   * Applies every subsystem in order. If one fails, every subsystem touched
   * so far (the failing one included) is returned to its snapshot, in
   * reverse order, so the box is never left half-configured.
   */
  private async applyAll(artifacts: Artifacts, options: { confirmTimeoutS?: number } = {}): Promise<Record<string, string[]>> {
    const snapshots: Array<{ subsystem: Subsystem; snapshot: unknown }> = [];
    const actions: Record<string, string[]> = {};
    for (const subsystem of this.subsystems) {
      const desired = artifacts.get(subsystem.name);
      snapshots.push({ subsystem, snapshot: await subsystem.snapshot(desired) });
      try {
        actions[subsystem.name] = await subsystem.apply(desired, options);
      } catch (error) {
        const rollbackErrors: string[] = [];
        for (const { subsystem: touched, snapshot } of snapshots.reverse()) {
          try {
            await touched.apply(snapshot);
          } catch (undoError) {
            rollbackErrors.push(`${touched.name}: ${(undoError as Error).message}`);
          }
        }
        const path = error instanceof ApplyFailed ? error.path : undefined;
        this.log.error('apply failed, rolled back', { subsystem: subsystem.name, error: (error as Error).message, rollbackErrors });
        throw new CommitFailed(subsystem.name, (error as Error).message, path, rollbackErrors.length === 0, rollbackErrors);
      }
    }
    return actions;
  }

  /**
   * Compares the running system with the current revision and repairs what
   * drifted. Reading the kernel and the daemons (seconds for a table of 100k
   * elements) does not hold the commit queue: each subsystem is first
   * compared outside it, and only one that drifted is compared again (against
   * the revision running then) and repaired inside it. A commit in between
   * applied by content itself; drift that appears after the first look is
   * found by the next reconcile.
   */
  async reconcile(): Promise<ReconcileReport> {
    const seen = await this.queue.run(async () => {
      const current = this.store.currentRevision();
      if (current) this.running ??= this.prepare(current.document).artifacts;
      return current ? this.running : undefined;
    });
    const suspects = new Set<Subsystem>();
    for (const subsystem of this.subsystems) {
      if (!seen) break;
      const drift = await subsystem.drift(seen.get(subsystem.name)).catch(() => ['drift check failed']);
      if (drift.length) suspects.add(subsystem);
    }
    return this.queue.run(async () => {
      const current = this.store.currentRevision();
      const report: ReconcileReport = { revision: current?.id ?? null, repaired: {}, errors: {} };
      if (!current) return report;
      const artifacts = this.running ?? this.prepare(current.document).artifacts;
      this.running = artifacts;
      for (const subsystem of this.subsystems) {
        if (!suspects.has(subsystem)) continue;
        const desired = artifacts.get(subsystem.name);
        try {
          const drift = await subsystem.drift(desired);
          if (drift.length === 0) continue;
          this.log.warn('drift found, repairing', { subsystem: subsystem.name, drift: drift.slice(0, 10) });
          await subsystem.apply(desired);
          // Report a repair only once the system matches again.
          const left = await subsystem.drift(desired);
          if (left.length) throw new Error(`still drifted after repair: ${left.slice(0, 5).join('; ')}`);
          report.repaired[subsystem.name] = drift;
        } catch (error) {
          report.errors[subsystem.name] = (error as Error).message;
          this.log.error('reconcile failed', { subsystem: subsystem.name, error: (error as Error).message });
        }
      }
      this.lastReconcile = { ...report, at: new Date().toISOString() };
      return report;
    });
  }

  /**
   * At boot the current revision is applied again. Drivers compare by
   * content and change nothing that already matches, so `repaired` lists
   * only subsystems whose apply actually did something.
   */
  async boot(): Promise<ReconcileReport> {
    const current = this.store.currentRevision();
    if (!current) return { revision: null, repaired: {}, errors: {} };
    const report = await this.queue.run(async () => {
      const { artifacts } = this.prepare(current.document);
      const report: ReconcileReport = { revision: current.id, repaired: {}, errors: {} };
      for (const subsystem of this.subsystems) {
        try {
          const actions = await subsystem.apply(artifacts.get(subsystem.name));
          if (actions.length) report.repaired[subsystem.name] = actions;
        } catch (error) {
          report.errors[subsystem.name] = (error as Error).message;
          this.log.error('boot apply failed', { subsystem: subsystem.name, error: (error as Error).message });
        }
      }
      this.running = artifacts;
      this.lastReconcile = { ...report, at: new Date().toISOString() };
      return report;
    });
    // A commit left unconfirmed by the previous run keeps its deadline.
    const pending = this.store.pendingConfirm();
    if (pending) this.armConfirm(pending);
    return report;
  }

  startPeriodicReconcile(intervalS: number): void {
    this.stopPeriodicReconcile();
    this.reconcileTimer = setInterval(() => void this.reconcile().catch(() => undefined), intervalS * 1000);
    this.reconcileTimer.unref();
  }

  stopPeriodicReconcile(): void {
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.reconcileTimer = undefined;
  }

  /** Stops all timers; a pending confirm keeps its stored deadline for the next start. */
  close(): void {
    this.stopPeriodicReconcile();
    if (this.confirmTimer) clearTimeout(this.confirmTimer);
  }

  currentConfig(): Config | undefined {
    return this.store.currentRevision()?.document;
  }
}
