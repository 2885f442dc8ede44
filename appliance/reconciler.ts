// The commit pipeline: validate, verify, render, plan, apply (with rollback),
// and the level-based reconcile loop that repairs drift. Every change to the
// box, from the API, the CLI or at boot, goes through this one class.
import type { Config } from './config/schema.js';
import { validateConfig } from './config/validate.js';
import { verifyConfig } from './config/verify.js';
import { ConfigRejected, type Problem } from './config/problems.js';
import { restoreSecrets } from './config/secrets.js';
import type { Capabilities } from './platform/capabilities.js';
import { ApplyFailed, type Driver } from './drivers/driver.js';
import type { Store, Revision, RevisionSummary } from './store/store.js';
import type { Logger } from './log.js';

export interface SubsystemPlan {
  subsystem: string;
  add: string[];
  remove: string[];
  reordered: boolean;
}

export interface Plan {
  changed: boolean;
  subsystems: SubsystemPlan[];
}

export interface CommitRequest {
  document: unknown;
  author: string;
  comment?: string;
  source: Revision['source'];
  dryRun?: boolean;
}

export interface CommitOutcome {
  dryRun: boolean;
  plan: Plan;
  revision?: RevisionSummary;
  /** commands run per subsystem (empty when the kernel already matched) */
  actions?: Record<string, string[]>;
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

export interface ReconcileReport {
  revision: number | null;
  repaired: Record<string, string[]>;
  errors: Record<string, string>;
}

export class Reconciler {
  /** Artifacts of the revision that is running now. */
  private running: Artifacts | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private reconcileTimer: NodeJS.Timeout | undefined;
  lastReconcile: (ReconcileReport & { at: string }) | undefined;

  constructor(
    private readonly store: Store,
    private readonly drivers: Driver[],
    readonly capabilities: Capabilities,
    private readonly log: Logger,
  ) {}

  /** One change at a time: commits, rollbacks and reconciles are serialized. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** validate + verify + render, with masked secrets filled in from the running revision. */
  prepare(document: unknown): { config: Config; artifacts: Artifacts } {
    const current = this.store.currentRevision();
    const restored = restoreSecrets(document, current?.document ?? {});
    if (restored.unresolved.length) {
      throw new ConfigRejected('validate', restored.unresolved.map((path) => ({ path, message: 'a masked secret can only be kept when the same object already has one; send the value' })));
    }
    const config = validateConfig(restored.value);
    const problems: Problem[] = [...verifyConfig(config)];
    for (const driver of this.drivers) problems.push(...driver.verify(config, this.capabilities));
    if (problems.length) throw new ConfigRejected('verify', problems);
    const artifacts: Artifacts = new Map(this.drivers.map((d) => [d.name, d.render(config, this.capabilities)]));
    return { config, artifacts };
  }

  plan(before: Artifacts | undefined, after: Artifacts): Plan {
    const subsystems = this.drivers.map((driver): SubsystemPlan => {
      const old = before?.has(driver.name) ? driver.describe(before.get(driver.name)) : [];
      const next = driver.describe(after.get(driver.name));
      const oldSet = new Set(old);
      const nextSet = new Set(next);
      const add = next.filter((l) => !oldSet.has(l));
      const remove = old.filter((l) => !nextSet.has(l));
      const reordered = !add.length && !remove.length && old.join('\n') !== next.join('\n');
      return { subsystem: driver.name, add, remove, reordered };
    });
    return { changed: subsystems.some((s) => s.add.length || s.remove.length || s.reordered), subsystems };
  }

  private runningArtifacts(): Artifacts | undefined {
    if (this.running) return this.running;
    const current = this.store.currentRevision();
    return current ? this.prepare(current.document).artifacts : undefined;
  }

  commit(request: CommitRequest): Promise<CommitOutcome> {
    return this.exclusive(async () => {
      const { config, artifacts } = this.prepare(request.document);
      const plan = this.plan(this.runningArtifacts(), artifacts);
      const problems: Problem[] = [];
      for (const driver of this.drivers) problems.push(...((await driver.check?.(artifacts.get(driver.name), config)) ?? []));
      if (problems.length) throw new ConfigRejected('check', problems);
      if (request.dryRun) return { dryRun: true, plan };
      try {
        const actions = await this.applyAll(artifacts);
        const revision = this.store.commitRevision(config, { author: request.author, comment: request.comment ?? '', source: request.source });
        this.running = artifacts;
        this.store.audit({ actor: request.author, action: `commit (${request.source})`, revision: revision.id, outcome: 'ok', detail: request.comment ?? '' });
        this.log.info('committed revision', { revision: revision.id, author: request.author, source: request.source });
        const { document: _document, ...summary } = revision;
        return { dryRun: false, plan, revision: summary, actions };
      } catch (error) {
        this.store.audit({ actor: request.author, action: `commit (${request.source})`, revision: null, outcome: 'failed', detail: (error as Error).message });
        throw error;
      }
    });
  }

  /**
   * Applies every subsystem in order. If one fails, every subsystem touched
   * so far (the failing one included) is returned to its snapshot, in
   * reverse order, so the box is never left half-configured.
   */
  private async applyAll(artifacts: Artifacts): Promise<Record<string, string[]>> {
    const snapshots: Array<{ driver: Driver; snapshot: unknown }> = [];
    const actions: Record<string, string[]> = {};
    for (const driver of this.drivers) {
      const desired = artifacts.get(driver.name);
      snapshots.push({ driver, snapshot: await driver.snapshot(desired) });
      try {
        actions[driver.name] = await driver.apply(desired);
      } catch (error) {
        const rollbackErrors: string[] = [];
        for (const { driver: touched, snapshot } of snapshots.reverse()) {
          try {
            await touched.apply(snapshot);
          } catch (undoError) {
            rollbackErrors.push(`${touched.name}: ${(undoError as Error).message}`);
          }
        }
        const path = error instanceof ApplyFailed ? error.path : undefined;
        this.log.error('apply failed, rolled back', { subsystem: driver.name, error: (error as Error).message, rollbackErrors });
        throw new CommitFailed(driver.name, (error as Error).message, path, rollbackErrors.length === 0, rollbackErrors);
      }
    }
    return actions;
  }

  /** Rollback makes a new revision whose document is the old one's. */
  async rollback(revisionId: number, author: string): Promise<CommitOutcome> {
    const target = this.store.revision(revisionId);
    if (!target) throw new RangeError(`no revision ${revisionId}`);
    return this.commit({ document: target.document, author, comment: `rollback to revision ${revisionId}`, source: 'rollback' });
  }

  /** Compares the running system with the current revision and repairs what drifted. */
  reconcile(): Promise<ReconcileReport> {
    return this.exclusive(async () => {
      const current = this.store.currentRevision();
      const report: ReconcileReport = { revision: current?.id ?? null, repaired: {}, errors: {} };
      if (!current) return report;
      const artifacts = this.running ?? this.prepare(current.document).artifacts;
      this.running = artifacts;
      for (const driver of this.drivers) {
        const desired = artifacts.get(driver.name);
        try {
          const drift = await driver.drift(desired);
          if (drift.length === 0) continue;
          this.log.warn('drift found, repairing', { subsystem: driver.name, drift: drift.slice(0, 10) });
          await driver.apply(desired);
          report.repaired[driver.name] = drift;
        } catch (error) {
          report.errors[driver.name] = (error as Error).message;
          this.log.error('reconcile failed', { subsystem: driver.name, error: (error as Error).message });
        }
      }
      this.lastReconcile = { ...report, at: new Date().toISOString() };
      return report;
    });
  }

  /** At boot the current revision is applied again, in full. */
  async boot(): Promise<ReconcileReport> {
    const current = this.store.currentRevision();
    if (!current) return { revision: null, repaired: {}, errors: {} };
    return this.exclusive(async () => {
      const { artifacts } = this.prepare(current.document);
      const report: ReconcileReport = { revision: current.id, repaired: {}, errors: {} };
      for (const driver of this.drivers) {
        try {
          const actions = await driver.apply(artifacts.get(driver.name));
          if (actions.length) report.repaired[driver.name] = actions;
        } catch (error) {
          report.errors[driver.name] = (error as Error).message;
          this.log.error('boot apply failed', { subsystem: driver.name, error: (error as Error).message });
        }
      }
      this.running = artifacts;
      this.lastReconcile = { ...report, at: new Date().toISOString() };
      return report;
    });
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

  currentConfig(): Config | undefined {
    return this.store.currentRevision()?.document;
  }
}
