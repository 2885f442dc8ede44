// The commit pipeline: validate, verify, render, plan, apply (with rollback),
// and the level-based reconcile loop that repairs drift. Every change to the
// box, from the API, the CLI or at boot, goes through this one class.
import type { TSchema } from '@sinclair/typebox';
import { documentSchema, emptyConfig, type Config } from '../model/schema.js';
import { documentValidator, type Validator } from '../model/validate.js';
import { sameBindings, selectAndBind, type InterfaceBinding, type KernelInterface } from '../model/selection.js';
import { verifyConfig } from '../model/verify.js';
import { ConfigRejected, isWarning, uniqueProblems, type Problem } from '../model/problems.js';
import { restoreSecrets } from '../model/secrets.js';
import { editableCopy } from '../model/shared-document.js';
import { sharedValidator } from '../model/shared-validate.js';
import { freezeDocument } from '../model/shared-document.js';
import type { Capabilities } from '../platform/capabilities.js';
import type { Subsystem } from './subsystem.js';
import type { Store, PendingConfirm, StagedRevision } from './store.js';
import type { Logger } from '../platform/log.js';
import { SerialQueue } from '../platform/serial-queue.js';
import { computePlan, type Plan } from './plan.js';
import { applyAll, msSince, unchangedSubsystems } from './apply-all.js';
import { CommitConflict, CommitFailed, type CommitAttempt, type CommitOutcome, type CommitRequest, type CommitTimings, type CommittedListener, type ReconcileReport } from './commit.js';

// The types the pipeline speaks live in plan.ts and commit.ts; importers keep one path.
export { PLAN_LINES, type Plan, type SubsystemPlan } from './plan.js';
export { CommitConflict, CommitFailed, type CommitAttempt, type CommitOutcome, type CommitRequest, type CommitTimings, type CommittedListener, type ReconcileReport } from './commit.js';

type Artifacts = Map<string, unknown>;

/** A document made ready to apply: checked, bound to this system's interfaces, rendered. */
interface Prepared {
  /** the document as stored (the document's own interface names) */
  config: Config;
  /** the same with kernel interface names: what the subsystems verified and rendered */
  bound: Config;
  bindings: InterfaceBinding[];
  artifacts: Artifacts;
  warnings: Problem[];
}

export class Reconciler {
  /** The revision that is running now: its artifacts, and the document and interfaces they were rendered from. */
  private running: Prepared | undefined;
  private readonly committedListeners: CommittedListener[] = [];

  /**
   * Called after every revision that is applied and stored, whatever made it:
   * the API, a rollback, a cancel or the confirm timer's revert; and when a
   * reconcile first applies the stored revision that boot could not (its
   * interfaces could not be selected yet), so the fail-closed ruleset goes.
   */
  onCommitted(listener: CommittedListener): void {
    this.committedListeners.push(listener);
  }

  private readonly attemptListeners: Array<(attempt: CommitAttempt) => void> = [];
  /** Called after every commit that reached apply, applied or failed. */
  onCommitAttempt = (listener: (attempt: CommitAttempt) => void) => void this.attemptListeners.push(listener);
  /** One change at a time: commits, edits, rollbacks and reconciles are serialized. */
  private readonly queue = new SerialQueue();
  private reconcileTimer: NodeJS.Timeout | undefined;
  lastReconcile: (ReconcileReport & { at: string }) | undefined;
  /** validate: the core sections plus the sections the subsystems declare */
  private readonly validate: Validator;
  /** the same schema, for binding interface references to kernel names */
  private readonly schema: TSchema;

  constructor(
    private readonly store: Store,
    private readonly subsystems: Subsystem[],
    readonly capabilities: Capabilities,
    private readonly log: Logger,
  ) {
    const sections = Object.fromEntries(subsystems.flatMap((d) => (d.schemaSection ? [[d.schemaSection.key, d.schemaSection.schema]] : [])));
    this.schema = documentSchema(sections);
    this.validate = sharedValidator(this.schema, documentValidator(sections));
  }

  /** The kernel's interfaces, from the subsystem that reads them (links); none without one (unit tests). */
  private async kernelInterfaces(): Promise<KernelInterface[] | undefined> {
    return this.subsystems.find((s) => s.kernelInterfaces)?.kernelInterfaces?.();
  }

  /**
   * validate + select interfaces + verify + render, with masked secrets
   * filled in from the running revision. With `kernel` (what the system has,
   * read just before), a match that finds no interface or several, or a name
   * the kernel lacks, is a `check` problem (422) naming /interfaces/N, and
   * nothing is applied. Without it the names are rendered as they are.
   */
  prepare(document: unknown, kernel?: KernelInterface[]): Prepared {
    return this.prepareChecked(this.checkDocument(document), kernel);
  }

  /** The document with masked secrets restored, validated and frozen: what prepare needs no kernel for. */
  private checkDocument(document: unknown): Config {
    const current = this.store.currentRevision();
    const restored = restoreSecrets(document, current?.document ?? {});
    if (restored.unresolved.length) {
      throw new ConfigRejected('validate', restored.unresolved.map((path) => ({ path, message: 'a masked secret can only be kept when the same object already has one; send the value' })));
    }
    // Frozen from here on (it is the next committed document, or a dry run's): the compiler reuses per-record work only for frozen records.
    return freezeDocument(this.validate(restored.value));
  }

  /** prepare() after checkDocument. */
  private prepareChecked(config: Config, kernel?: KernelInterface[]): Prepared {
    const { bound, bindings, problems: selection } = selectAndBind(this.schema, config, kernel);
    // The document's own checks on its own names; the subsystems' on what they will render.
    const found: Problem[] = [...verifyConfig(config)];
    for (const subsystem of this.subsystems) found.push(...subsystem.verify(bound, this.capabilities));
    const problems = uniqueProblems(found);
    const errors = problems.filter((p) => !isWarning(p));
    if (errors.length) throw new ConfigRejected('verify', errors);
    if (selection.length) throw new ConfigRejected('check', selection);
    const artifacts: Artifacts = new Map(this.subsystems.map((d) => [d.name, d.render(bound, this.capabilities)]));
    return { config, bound, bindings, artifacts, warnings: problems.filter(isWarning) };
  }

  /** The two-level plan (core/plan.ts): the document diff and each subsystem's kernel-level lines. */
  plan(before: Artifacts | undefined, after: Artifacts, documents?: { before: unknown; after: unknown }): Plan {
    return computePlan(this.subsystems, before, after, documents);
  }

  /** What runs now, for the plan's "before": nothing when the stored revision could not be applied here. */
  private async runningArtifacts(): Promise<Artifacts | undefined> {
    if (this.running) return this.running.artifacts;
    const current = this.store.currentRevision();
    if (!current) return undefined;
    try {
      return this.prepare(current.document, await this.kernelInterfaces()).artifacts;
    } catch (error) {
      if (error instanceof ConfigRejected) return undefined;
      throw error;
    }
  }

  commit(request: CommitRequest): Promise<CommitOutcome> {
    return this.queue.run(() => this.commitNow(request));
  }

  /**
   * Read-modify-write in the queue: `edit` gets a copy of the current
   * document and its revision (null before the first commit) and returns the
   * new document, which is committed before any other change may start. So
   * two edits never both read revision N and the second never drops the
   * first's change. If `edit` throws (e.g. a stale If-Match), nothing is committed.
   * The copy shares the current document's frozen records (model/shared-document.ts).
   */
  edit(request: Omit<CommitRequest, 'document'>, edit: (current: Config, revision: number | null) => unknown): Promise<CommitOutcome> {
    return this.queue.run(() => {
      const current = this.store.currentRevision()?.document;
      const document = edit(current ? editableCopy(this.schema, current) : emptyConfig(), this.store.currentRevisionId());
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
      let stage = performance.now();
      // The kernel's interfaces, and what the subsystems' applies read first, are read (by other processes) while the document is checked.
      const reading = this.kernelInterfaces();
      const prefetched = new Map<string, unknown>();
      if (!request.dryRun) for (const subsystem of this.subsystems) if (subsystem.prefetch) prefetched.set(subsystem.name, subsystem.prefetch());
      let checked: Config;
      try {
        checked = this.checkDocument(request.document);
      } catch (error) {
        await reading.catch(() => undefined);
        throw error;
      }
      const prepared = this.prepareChecked(checked, await reading);
      const { config, bound, artifacts, warnings } = prepared;
      const timings: CommitTimings = { prepare_ms: msSince(stage), plan_ms: 0, apply_ms: {}, store_ms: 0 };
      stage = performance.now();
      const before = await this.runningArtifacts();
      const documents = { before: this.store.currentRevision()?.document, after: config };
      // What runs now, if it is known to be applied in full: what equals it is neither checked nor applied.
      const running = this.lastReconcile && Object.keys(this.lastReconcile.errors).length ? undefined : this.running?.artifacts;
      const unchanged = unchangedSubsystems(running, artifacts);
      const problems: Problem[] = [];
      for (const subsystem of this.subsystems) {
        if (unchanged.has(subsystem.name)) continue;
        problems.push(...((await subsystem.check?.(artifacts.get(subsystem.name), bound)) ?? []));
      }
      if (problems.length) throw new ConfigRejected('check', problems);
      timings.plan_ms = msSince(stage);
      if (request.dryRun) {
        stage = performance.now();
        const plan = this.plan(before, artifacts, documents);
        timings.plan_ms += msSince(stage);
        return { dryRun: true, plan, warnings, timings };
      }
      const started = performance.now();
      const attempted = (ok: boolean) => {
        const attempt: CommitAttempt = { source: request.source, ok, seconds: (performance.now() - started) / 1000, revert: request.revertOf !== undefined, applySeconds: Object.fromEntries(Object.entries(timings.apply_ms).map(([name, ms]) => [name, ms / 1000])) };
        this.attemptListeners.forEach((l) => l(attempt));
      };
      try {
        const parent = this.store.currentRevisionId();
        // The plan and the revision's text need no kernel: they are made while nft applies (ApplyOptions.meanwhile).
        // The plan is of the same artifacts apply is given, computed against what ran before it.
        let plan: Plan | undefined;
        let staged: StagedRevision | undefined;
        const meanwhile = () => {
          let start = performance.now();
          plan = this.plan(before, artifacts, documents);
          timings.plan_ms += msSince(start);
          start = performance.now();
          staged = this.store.stageRevision(config);
          timings.store_ms += msSince(start);
        };
        const actions = await applyAll(this.subsystems, artifacts, this.log, { confirmTimeoutS: request.confirmTimeoutS, unchanged, meanwhile, prefetched }, timings.apply_ms);
        stage = performance.now();
        const revision = this.store.commitRevision(config, { author: request.author, comment: request.comment ?? '', source: request.source }, staged);
        timings.store_ms += msSince(stage);
        this.running = prepared;
        if (request.confirmTimeoutS) {
          this.armConfirm({ revision: revision.id, revertTo: parent, deadline: new Date(Date.now() + request.confirmTimeoutS * 1000).toISOString(), author: request.author });
        }
        this.store.audit({ actor: request.author, action: `commit (${request.source})`, revision: revision.id, outcome: 'ok', detail: request.comment ?? '' });
        this.log.info('committed revision', { revision: revision.id, author: request.author, source: request.source, timings });
        const { document: _document, ...summary } = revision;
        for (const listener of this.committedListeners) listener(summary, config);
        attempted(true);
        return { dryRun: false, plan: plan!, warnings, revision: summary, actions, timings, ...(request.confirmTimeoutS ? { pendingConfirm: this.store.pendingConfirm() } : {}) };
      } catch (error) {
        this.store.audit({ actor: request.author, action: `commit (${request.source})`, revision: null, outcome: 'failed', detail: (error as Error).message });
        attempted(false);
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
      return this.commitNow({ document, author, comment: `revert of unconfirmed revision ${revision}`, source: 'rollback', revertOf: revision });
    });
  }

  /**
   * Compares the running system with the current revision and repairs what
   * drifted. Reading the kernel and the daemons (seconds for a table of 100k
   * elements) does not hold the commit queue: each subsystem is first
   * compared outside it, and only one that drifted is compared again (against
   * the revision running then) and repaired inside it. When what runs
   * changed in between (a commit, interfaces that moved), every subsystem is
   * compared again inside; drift that appears after that is found next time.
   */
  async reconcile(): Promise<ReconcileReport> {
    const seen = await this.queue.run(async () => this.running);
    const suspects = new Set<Subsystem>();
    for (const subsystem of this.subsystems) {
      if (!seen) break;
      const drift = await subsystem.drift(seen.artifacts.get(subsystem.name)).catch(() => ['drift check failed']);
      if (drift.length) suspects.add(subsystem);
    }
    return this.queue.run(async () => {
      const current = this.store.currentRevision();
      const report: ReconcileReport = { revision: current?.id ?? null, repaired: {}, errors: {} };
      if (!current) return report;
      const firstApply = !this.running;
      const running = await this.reselect(current.document, report);
      if (!running) {
        this.lastReconcile = { ...report, at: new Date().toISOString() };
        return report;
      }
      const checkAll = running !== seen;
      for (const subsystem of this.subsystems) {
        if (!checkAll && !suspects.has(subsystem)) continue;
        const desired = running.artifacts.get(subsystem.name);
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
      // Boot could not apply this revision (its interfaces were not there): now it runs, as after a commit.
      if (firstApply && !Object.keys(report.errors).length) {
        const { document, ...summary } = current;
        for (const listener of this.committedListeners) listener(summary, document);
      }
      this.lastReconcile = { ...report, at: new Date().toISOString() };
      return report;
    });
  }

  /**
   * The revision to hold the system to, with the interfaces selected again:
   * a NIC that moved (another kernel name or MAC for a role) re-renders
   * every subsystem onto it; one that cannot be selected now is reported
   * under `interfaces` and the last good selection is kept. Before any
   * selection succeeded (a boot that found none), this is the retry.
   */
  private async reselect(document: Config, report: ReconcileReport): Promise<Prepared | undefined> {
    try {
      const kernel = await this.kernelInterfaces();
      if (this.running) {
        const { bindings, problems } = selectAndBind(this.schema, this.running.config, kernel);
        if (problems.length) throw new ConfigRejected('check', problems);
        if (sameBindings(bindings, this.running.bindings)) return this.running;
        this.log.warn('interfaces moved: rendering the revision onto them', { interfaces: bindings.map((b) => `${b.name} -> ${b.kernel}`) });
      }
      this.running = this.prepare(document, kernel);
    } catch (error) {
      if (!(error instanceof ConfigRejected)) throw error;
      report.errors.interfaces = error.message;
      this.log.error('cannot select the interfaces', { error: error.message });
    }
    return this.running;
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
      const report: ReconcileReport = { revision: current.id, repaired: {}, errors: {} };
      let prepared: Prepared;
      try {
        prepared = this.prepare(current.document, await this.kernelInterfaces());
      } catch (error) {
        if (!(error instanceof ConfigRejected)) throw error;
        // A role whose NIC is missing or ambiguous: applying would build the
        // firewall on the wrong interface. Nothing is applied (a fail-closed
        // ruleset stays); the periodic reconcile tries again.
        report.errors.interfaces = error.message;
        for (const subsystem of this.subsystems) report.errors[subsystem.name] = 'not applied: the interfaces could not be selected';
        this.log.error('boot cannot select the interfaces: nothing applied', { error: error.message });
        this.lastReconcile = { ...report, at: new Date().toISOString() };
        return report;
      }
      const { artifacts } = prepared;
      for (const subsystem of this.subsystems) {
        try {
          const actions = await subsystem.apply(artifacts.get(subsystem.name));
          if (actions.length) report.repaired[subsystem.name] = actions;
        } catch (error) {
          report.errors[subsystem.name] = (error as Error).message;
          this.log.error('boot apply failed', { subsystem: subsystem.name, error: (error as Error).message });
        }
      }
      this.running = prepared;
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

  /**
   * The running revision as the subsystems see it: kernel interface names,
   * and on each interface selected by match its document name and criteria
   * (for status). Undefined until a revision is applied.
   */
  runningConfig(): Config | undefined {
    return this.running?.bound;
  }
}
