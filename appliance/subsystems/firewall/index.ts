// Firewall and NAT: the rules compiler renders one nftables JSON batch for
// Junction's own table. Apply compares the kernel's table with it by content
// (content.ts) and runs the difference as one nft transaction (delta.ts): a
// failed transaction changes nothing, and unchanged rules keep their counters.
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../model/schema.js';
import type { Problem } from '../../model/problems.js';
import type { Capabilities } from '../../platform/capabilities.js';
import type { CommandResult, CommandRunner } from '../../platform/command-runner.js';
import { CompileCache, compileRuleset, CompileError, TABLE, type CompiledRuleset } from '../../../rules/index.js';
import { ApplyFailed, type ApplyOptions, type FirewallNeeds, type PlanChunk, type Subsystem } from '../../core/subsystem.js';
import { apiSelfService, shadowedSelfServices } from './shadowed-services.js';
import { loggingWanted, type FirewallLog } from './log-reader.js';
import { contentChunks, contentLines, listedContent, tableContent, type RuleContent, type TableContent } from './content.js';
import { matchRules, nftTransaction, sameRules, type NftTransaction } from './delta.js';
import { firewallStatus, type AppliedCounters } from './status.js';
import { carriedCounters, carryScript, countedByIdentity, type CarriedCounter } from './carry-over.js';
import { firewallMetrics } from './metrics.js';
import type { MetricFamily } from '../../core/metric-samples.js';

/** Junction's table is in the inet family (rules/nft-json.ts). */
const TABLE_FAMILY = 'inet';

export interface FirewallArtifact {
  ruleset: CompiledRuleset;
  /** some rule logs, so the NFLOG reader must run */
  logging: boolean;
  /** no table at all: the state before Junction's first commit */
  absent?: boolean;
}

/** The content of an artifact's batch, computed once per artifact (100k elements take a while). */
const contents = new WeakMap<FirewallArtifact, TableContent>();
export function contentOf(artifact: FirewallArtifact): TableContent {
  let content = contents.get(artifact);
  if (!content) {
    content = tableContent(artifact.ruleset.nftables);
    contents.set(artifact, content);
  }
  return content;
}

/** An artifact that removes Junction's table: the state before Junction's first commit. */
export function inactiveFirewallArtifact(): FirewallArtifact {
  const nftables = [{ delete: { table: { family: TABLE_FAMILY, name: TABLE } } }];
  return { ruleset: { nftables, origins: ['junction:table'], ruleCounters: { rules: [], sets: [] }, logging: false, stats: { rules: 0, elements: 0, lookups: 0 } }, logging: false, absent: true };
}

export function parseNftErrorIndex(stderr: string): number | undefined {
  const match = /command array at index (\d+)/i.exec(stderr);
  return match ? Number(match[1]) : undefined;
}

/** describe()'s line for the log reader: one chunk, the same object in every artifact that logs. */
const LOG_READER_CHUNK: PlanChunk = { key: 'log reader', lines: ['firewall log reader (NFLOG) runs'] };

/** A delta batch up to this size is applied with `nft -e` (echo), which reports the added rules' handles. */
const ECHO_MAX_BYTES = 256 * 1024;
/** What nft echoes for a batch that adds no rule. */
const NOTHING_ECHOED = '{"nftables":[]}';

/** At most this many differing lines in a drift report; the counts say how many there are. */
const DRIFT_LINES = 20;

/** What differs between two sets of content lines, bounded, with exact counts. */
export function contentDrift(have: string[], want: string[]): string[] {
  const haveSet = new Set(have);
  const wantSet = new Set(want);
  const missing = want.filter((l) => !haveSet.has(l));
  const extra = have.filter((l) => !wantSet.has(l));
  if (!missing.length && !extra.length) return have.join('\n') === want.join('\n') ? [] : ['rule order differs'];
  const notes = [...missing.map((l) => `missing: ${l}`), ...extra.map((l) => `unexpected: ${l}`)];
  if (notes.length <= DRIFT_LINES) return notes;
  return [...notes.slice(0, DRIFT_LINES), `... ${missing.length} missing and ${extra.length} unexpected in all`];
}

export class FirewallSubsystem implements Subsystem<FirewallArtifact> {
  readonly name = 'firewall';
  constructor(
    private readonly runner: CommandRunner,
    private readonly stateDir: string,
    private readonly apiPort: () => number | undefined = () => undefined,
    private readonly firewallLog?: FirewallLog,
    /** what the other subsystems ask of the firewall (their FirewallNeeds), gathered by the composition root */
    private readonly needs: (config: Config, capabilities: Capabilities) => FirewallNeeds = () => ({}),
  ) {}

  /** rule counters by rule id and policy, and conntrack's fill */
  statusReport(): Promise<Record<string, unknown>> {
    return firewallStatus(this.runner, this.appliedCounters());
  }

  /** rule, policy-default and NAT counters, conntrack, the log reader */
  metrics(config: Config | undefined): Promise<MetricFamily[]> {
    const log = this.firewallLog;
    const logReader = log && config && loggingWanted(config) ? { running: log.running, restarts: log.restarts } : undefined;
    return firewallMetrics(this.runner, config, logReader, () => firewallStatus(this.runner, this.appliedCounters()));
  }

  /**
   * Which rule owns each element in the kernel: known from what this process
   * applied (boot applies the stored revision, so only the moments before
   * that have none, and then no rule counters are reported).
   */
  private appliedCounters(): AppliedCounters | undefined {
    const applied = this.lastApplied;
    return applied && !applied.absent ? { ruleCounters: applied.ruleset.ruleCounters, elements: contentOf(applied).elements } : undefined;
  }

  /** verify and render both need the compiled ruleset; compile each document once. */
  private readonly compiled = new WeakMap<Config, CompiledRuleset | CompileError>();
  /** what the last compile built, so the next one (a commit of a few rules) redoes only what changed */
  private readonly compileCache = new CompileCache();

  private compile(config: Config, capabilities: Capabilities): CompiledRuleset {
    let result = this.compiled.get(config);
    if (!result) {
      const flowtable = capabilities.flowtable && config.system?.flowtable !== 'off';
      try {
        const { selfServices, zoneMembers, tunnelOnly } = this.needs(config, capabilities);
        result = compileRuleset(config, { flowtable, apiPort: config.system?.api_port ?? this.apiPort(), selfServices, zoneMembers, tunnelOnly }, this.compileCache);
      } catch (error) {
        if (!(error instanceof CompileError)) throw error;
        result = error;
      }
      this.compiled.set(config, result);
    }
    if (result instanceof CompileError) throw result;
    return result;
  }

  verify(config: Config, capabilities: Capabilities): Problem[] {
    try {
      this.compile(config, capabilities);
      return shadowedSelfServices(config, [...apiSelfService(config, this.apiPort()), ...(this.needs(config, capabilities).selfServices ?? [])]);
    } catch (error) {
      if (error instanceof CompileError) return error.problems;
      throw error;
    }
  }

  render(config: Config, capabilities: Capabilities): FirewallArtifact {
    // from the compiled runs, not a walk of every rule (100k of them)
    const ruleset = this.compile(config, capabilities);
    return { ruleset, logging: ruleset.logging };
  }

  /** The table by content (every chain, rule, element and counter) and whether the log reader runs. */
  describe(artifact: FirewallArtifact): string[] {
    return this.describeChunks(artifact).flatMap((chunk) => chunk.lines);
  }

  /** describe() in chunks (content.ts): a set a change did not touch is the same chunk in both artifacts. */
  describeChunks(artifact: FirewallArtifact): readonly PlanChunk[] {
    if (artifact.absent) return [];
    let chunks = this.described.get(artifact);
    if (!chunks) {
      chunks = [...contentChunks(contentOf(artifact)), ...(artifact.logging ? [LOG_READER_CHUNK] : [])];
      this.described.set(artifact, chunks);
    }
    return chunks;
  }

  /** The running artifact's chunks come up at every plan: build them once. */
  private readonly described = new WeakMap<FirewallArtifact, readonly PlanChunk[]>();

  /** What to return to: the last ruleset this process applied, or no table at all. */
  async snapshot(): Promise<FirewallArtifact> {
    return this.lastApplied ?? inactiveFirewallArtifact();
  }

  /** The kernel's table (undefined when there is none); terse leaves out set elements, which is much faster. */
  private async kernelTable(terse: boolean): Promise<TableContent | undefined> {
    const result = await this.runner.run('nft', [...(terse ? ['-t'] : []), '-j', 'list', 'table', TABLE_FAMILY, TABLE]);
    if (result.code !== 0) {
      // A missing table is a state; any other failure is not knowledge of one.
      if (/No such file or directory/.test(result.stderr)) return undefined;
      throw new Error(`nft list table ${TABLE_FAMILY} ${TABLE} failed: ${result.stderr.trim().split('\n')[0]}`);
    }
    return listedContent(result.stdout, terse);
  }

  async drift(desired: FirewallArtifact): Promise<string[]> {
    const kernel = await this.kernelTable(false);
    const table = desired.absent
      ? (kernel ? [`table ${TABLE_FAMILY} ${TABLE} exists but should not`] : [])
      : !kernel ? [`table ${TABLE_FAMILY} ${TABLE} is missing`] : contentDrift(contentLines(kernel), contentLines(contentOf(desired)));
    // The kernel is not what this process applied: the next apply lists its elements instead of assuming them.
    // (A look at an older revision, taken while a commit applied a newer one, says nothing about that.)
    if (table.length && desired === this.lastApplied) this.appliedInPlace = false;
    return [...table, ...(this.firewallLog?.drift(desired.logging) ?? [])];
  }

  /**
   * The transaction from the kernel's table to `desired`. After this process
   * applied a table (and no drift was seen since), the kernel is taken to
   * hold what it applied, checked where that is cheap: the chains, and the
   * rules of the chains whose rules change (their handles). A listing of
   * 100k elements and counters costs seconds; the reconcile loop compares
   * everything, and a transaction that fails is computed again from a full
   * listing.
   */
  private async transaction(desired: FirewallArtifact, trustApplied: boolean, chainsListed?: Promise<CommandResult>): Promise<NftTransaction | undefined> {
    const applied = trustApplied && this.appliedInPlace && this.lastApplied && !this.lastApplied.absent ? contentOf(this.lastApplied) : undefined;
    if (desired.absent) {
      return (await this.kernelTable(true)) ? { nftables: desired.ruleset.nftables, origins: desired.ruleset.origins, whole: true, summary: `delete table ${TABLE_FAMILY} ${TABLE}` } : undefined;
    }
    const kernel = applied ? await this.assumedKernel(applied, contentOf(desired), chainsListed) : await this.kernelTable(false);
    this.transactionBase = kernel;
    const transaction = nftTransaction(kernel, contentOf(desired), desired.ruleset);
    // A whole-table replacement carries the counters' values over, and a rule is deleted by its handle: those need a listing.
    if (applied && (transaction?.whole || transaction?.needsHandles)) return this.transaction(desired, false);
    return transaction;
  }

  /** The listing of the chains an apply that trusts what it applied reads first; a commit starts it early (prefetch). */
  private listChains(): Promise<CommandResult> {
    return this.runner.run('nft', ['-j', 'list', 'chains', TABLE_FAMILY]);
  }

  prefetch(): Promise<CommandResult> {
    return this.listChains();
  }

  /** `applied` as the kernel's table, with the kernel's chains (`chainsListed`: as this commit listed them at its start) and the rules (and handles) of the chains that change. */
  private async assumedKernel(applied: TableContent, desired: TableContent, chainsListed?: Promise<CommandResult>): Promise<TableContent | undefined> {
    const chains = await (chainsListed ?? this.listChains());
    if (chains.code !== 0) return this.kernelTable(false);
    const listed = listedContent(chains.stdout);
    if (listed.chains.size === 0) return undefined; // Junction's table always has chains: it is gone
    const kernel: TableContent = { ...applied, chains: listed.chains, rules: new Map(applied.rules), terse: false };
    for (const [chain, want] of desired.rules) {
      const have = applied.rules.get(chain);
      if (!have || !listed.chains.has(chain) || sameRules(have, want)) continue;
      const known = this.knownRules.get(chain);
      if (known && sameRules(known, have)) {
        kernel.rules.set(chain, known);
        continue;
      }
      const result = await this.runner.run('nft', ['-j', 'list', 'chain', TABLE_FAMILY, TABLE, chain]);
      if (result.code !== 0) return this.kernelTable(false);
      kernel.rules.set(chain, listedContent(result.stdout).rules.get(chain) ?? []);
    }
    return kernel;
  }

  async apply(desired: FirewallArtifact, options: ApplyOptions = {}): Promise<string[]> {
    const logActions = (await this.firewallLog?.ensure(desired.logging)) ?? [];
    const assumedElements = this.appliedInPlace && this.lastApplied !== undefined && !this.lastApplied.absent;
    let transaction = await this.transaction(desired, true, options.prefetched as ReturnType<FirewallSubsystem['prefetch']> | undefined);
    const inPlace = () => {
      this.lastApplied = desired;
      this.appliedInPlace = true;
      return logActions;
    };
    if (!transaction) return inPlace();
    const dir = join(this.stateDir, 'nft');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, 'ruleset.json');
    let carried: string[] = [];
    for (let attempt = 0; ; attempt++) {
      const carry = await this.countersToCarry(transaction, desired);
      const text = JSON.stringify({ nftables: transaction.nftables });
      await writeFile(file, text, { mode: 0o600 });
      // A small delta that adds rules echoes them: their handles, so the next delta need not list their chain.
      // Only then: an echo makes nft read the whole table first (0.4 s with 100k elements, measured).
      const addsRules = !transaction.whole && transaction.nftables.some((c) => 'insert' in c || (c as { add?: { rule?: unknown } }).add?.rule !== undefined);
      const echo = addsRules && text.length <= ECHO_MAX_BYTES;
      const running = this.runner.run('nft', ['-j', '-f', file, ...(echo ? ['-e'] : [])]);
      // nft takes as long as Junction's own work at 100k elements: the commit does its plan and store work meanwhile.
      options.meanwhile?.();
      const result = await running;
      if (result.code === 0) {
        // no rule added: every kept rule keeps its handle, as an empty echo says
        this.rememberHandles(desired, transaction.whole || (addsRules && !echo) ? undefined : echo ? result.stdout : NOTHING_ECHOED);
        carried = await this.carryCounters(dir, carry);
        break;
      }
      // A delta built on the elements this process applied may meet elements changed by hand:
      // list them, and try once more if that gives a different transaction.
      if (attempt === 0 && assumedElements) {
        const retry = await this.transaction(desired, false);
        if (!retry) return inPlace(); // the kernel already has it: nothing was done
        if (JSON.stringify(retry.nftables) !== JSON.stringify(transaction.nftables)) {
          transaction = retry;
          continue;
        }
      }
      const index = parseNftErrorIndex(result.stderr);
      const path = index !== undefined ? transaction.origins[index] : undefined;
      const firstLine = result.stderr.trim().split('\n')[0] ?? 'nft failed';
      throw new ApplyFailed(this.name, `nft apply failed: ${firstLine}`, path);
    }
    return [`nft -j -f ${file}: ${transaction.summary}`, ...carried, ...inPlace()];
  }

  /**
   * The element counters the transaction would lose with the run sets it
   * deletes or creates anew, to put back into the new sets (carry-over.ts).
   * Which rule owned a kernel element is known only from the ruleset this
   * process applied last: without it (nothing applied since the start), no
   * counter is carried over.
   */
  private async countersToCarry(transaction: NftTransaction, desired: FirewallArtifact): Promise<CarriedCounter[]> {
    const previous = this.lastApplied;
    const base = this.transactionBase;
    if (!previous || previous.absent || !base) return [];
    const wanted = contentOf(desired);
    const changed = (name: string) => transaction.whole || base.sets.get(name) !== wanted.sets.get(name);
    const gone = new Set(previous.ruleset.ruleCounters.sets.map((s) => s.name).filter((name) => base.sets.has(name) && changed(name)));
    const fresh = new Set(desired.ruleset.ruleCounters.sets.map((s) => s.name).filter(changed));
    if (!gone.size || !fresh.size) return [];
    // A whole-table transaction is computed from a full listing (with the values); a delta lists the sets it deletes.
    let kernel = base.elements;
    if (!transaction.whole) {
      kernel = new Map();
      for (const name of gone) {
        const result = await this.runner.run('nft', ['-j', 'list', 'set', TABLE_FAMILY, TABLE, name]);
        if (result.code === 0) kernel.set(name, listedContent(result.stdout).elements.get(name) ?? new Map());
      }
    }
    const applied = { ruleCounters: previous.ruleset.ruleCounters, elements: contentOf(previous).elements };
    return carriedCounters({ ruleCounters: desired.ruleset.ruleCounters, elements: wanted.elements }, fresh, countedByIdentity(applied, kernel, gone));
  }

  /** Puts the carried values into the new sets' elements, in one native transaction; a failure loses counts, not rules. */
  private async carryCounters(dir: string, carry: CarriedCounter[]): Promise<string[]> {
    if (!carry.length) return [];
    const file = join(dir, 'carry-counters.nft');
    await writeFile(file, carryScript(TABLE_FAMILY, TABLE, carry), { mode: 0o600 });
    const result = await this.runner.run('nft', ['-f', file]);
    if (result.code === 0) return [`nft -f ${file}: ${carry.length} element counters carried over`];
    return [`nft -f ${file}: element counters NOT carried over: ${result.stderr.trim().split('\n')[0] ?? 'nft failed'}`];
  }

  /**
   * Each chain's rules with their kernel handles after an echoed delta: the
   * kept rules' handles from the transaction's base, the added ones' from
   * nft's echo. Without an echo (a whole table, a big delta) they are unknown.
   */
  private rememberHandles(desired: FirewallArtifact, echoed: string | undefined): void {
    const base = this.transactionBase;
    const known = new Map<string, RuleContent[]>();
    const added = new Map<string, number[]>();
    try {
      for (const command of echoed ? (JSON.parse(echoed) as { nftables: Array<Record<string, { rule?: { chain: string; handle?: number } }>> }).nftables : []) {
        const rule = (command.add ?? command.insert)?.rule;
        if (rule?.handle !== undefined) added.set(rule.chain, [...(added.get(rule.chain) ?? []), rule.handle]);
      }
    } catch {
      added.clear();
    }
    for (const [chain, want] of echoed && base ? contentOf(desired).rules : []) {
      const have = base!.chains.has(chain) ? (base!.rules.get(chain) ?? []) : [];
      const kept = matchRules(have, want);
      const handles = added.get(chain) ?? [];
      if (sameRules(have, want)) {
        // unchanged: the base's handles if it listed them, else what was known before
        const before = have.every((rule) => rule.handle !== undefined) ? have : this.knownRules.get(chain);
        if (before) known.set(chain, before);
        continue;
      }
      if (kept.some((k) => k !== undefined && have[k].handle === undefined)) continue;
      if (kept.filter((k) => k === undefined).length !== handles.length) continue;
      known.set(chain, want.map((rule, j) => ({ ...rule, handle: kept[j] !== undefined ? have[kept[j]!].handle : handles.shift() })));
    }
    this.knownRules = known;
  }

  private knownRules = new Map<string, RuleContent[]>();
  /** the kernel content the last transaction was computed from */
  private transactionBase?: TableContent;
  private lastApplied?: FirewallArtifact;
  /** the kernel's set elements are the ones lastApplied has (no drift seen since) */
  private appliedInPlace = false;
}
