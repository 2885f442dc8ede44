// Firewall and NAT: the rules compiler renders one nftables JSON batch that
// replaces Junction's own table in a single transaction. It is checked with
// `nft -c` first; a batch with an error changes nothing in the kernel.
import { createHash } from 'node:crypto';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../model/schema.js';
import type { Problem } from '../../model/problems.js';
import type { Capabilities } from '../../platform/capabilities.js';
import type { CommandRunner } from '../../platform/command-runner.js';
import { compileRuleset, CompileError, TABLE, type CompiledRuleset } from '../../../rules/index.js';
import { ApplyFailed, type Driver } from '../../core/subsystem.js';
import { selfServicesFor } from './self-services.js';
import { apiSelfService, shadowedSelfServices } from './shadowed-services.js';
import { vpnZoneMembers } from '../vpn/index.js';
import { loggingWanted, type FirewallLog } from './log-reader.js';

export interface FirewallArtifact {
  ruleset: CompiledRuleset;
  /** The structure the kernel listing must show when the ruleset is in place. */
  signature: string[];
  /** sha256 of the batch: equal hashes and no drift mean there is nothing to do */
  hash: string;
  /** some rule logs, so the NFLOG reader must run */
  logging: boolean;
}

type NftObject = Record<string, Record<string, unknown>>;

/** Chains with their rule comments in order, plus set, map and counter names. */
export function signatureOf(objects: NftObject[]): string[] {
  const lines: string[] = [];
  for (const object of objects) {
    const [verb, body] = Object.entries(object)[0] ?? [];
    if (!body || typeof body !== 'object') continue;
    // A batch wraps objects in add/insert; a listing shows them bare.
    const inner = verb === 'add' || verb === 'insert' ? (body as NftObject) : ({ [verb]: body } as NftObject);
    const [kind, spec] = Object.entries(inner)[0] ?? [];
    if (!spec || (spec as { table?: string }).table !== TABLE) continue;
    const s = spec as { name?: string; chain?: string; comment?: string };
    if (kind === 'chain' || kind === 'set' || kind === 'map' || kind === 'counter' || kind === 'flowtable') lines.push(`${kind} ${s.name}`);
    else if (kind === 'rule') lines.push(`rule ${s.chain} ${s.comment ?? ''}`);
  }
  return normalize(lines);
}

/**
 * nft lists objects in its own order (counters and sets before chains), so
 * declarations are sorted; rules keep their order within each chain.
 */
function normalize(lines: string[]): string[] {
  const declarations = lines.filter((l) => !l.startsWith('rule ')).sort();
  const byChain = new Map<string, string[]>();
  for (const line of lines.filter((l) => l.startsWith('rule '))) {
    const chain = line.split(' ')[1];
    byChain.set(chain, [...(byChain.get(chain) ?? []), line]);
  }
  const rules = [...byChain.keys()].sort().flatMap((chain) => byChain.get(chain)!);
  return [...declarations, ...rules];
}

/** An artifact that removes Junction's table: the state before Junction's first commit. */
export function absentFirewall(): FirewallArtifact {
  const nftables = [{ add: { table: { family: 'inet', name: TABLE } } }, { delete: { table: { family: 'inet', name: TABLE } } }];
  return { ruleset: { nftables, origins: ['table', 'table'], stats: { rules: 0, elements: 0, lookups: 0 } }, signature: [], hash: 'absent', logging: false };
}

export function parseNftErrorIndex(stderr: string): number | undefined {
  const match = /command array at index (\d+)/i.exec(stderr);
  return match ? Number(match[1]) : undefined;
}

export class FirewallDriver implements Driver<FirewallArtifact> {
  readonly name = 'firewall';
  constructor(
    private readonly runner: CommandRunner,
    private readonly stateDir: string,
    private readonly apiPort: () => number | undefined = () => undefined,
    private readonly firewallLog?: FirewallLog,
  ) {}

  /** verify and render both need the compiled ruleset; compile each document once. */
  private readonly compiled = new WeakMap<Config, CompiledRuleset | CompileError>();

  private compile(config: Config, capabilities: Capabilities): CompiledRuleset {
    let result = this.compiled.get(config);
    if (!result) {
      const flowtable = capabilities.flowtable && config.system?.flowtable !== 'off';
      try {
        result = compileRuleset(config, { flowtable, apiPort: config.system?.api_port ?? this.apiPort(), selfServices: selfServicesFor(config), zoneMembers: vpnZoneMembers(config, capabilities) });
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
      return shadowedSelfServices(config, [...apiSelfService(config, this.apiPort()), ...selfServicesFor(config)]);
    } catch (error) {
      if (error instanceof CompileError) return error.problems;
      throw error;
    }
  }

  render(config: Config, capabilities: Capabilities): FirewallArtifact {
    const ruleset = this.compile(config, capabilities);
    const hash = createHash('sha256').update(JSON.stringify(ruleset.nftables)).digest('hex');
    return { ruleset, signature: signatureOf(ruleset.nftables as NftObject[]), hash, logging: loggingWanted(config) };
  }

  describe(artifact: FirewallArtifact): string[] {
    // Elements are summarised by count: a 100k-element plan is not readable.
    const lines = artifact.signature.slice();
    const { rules, elements, lookups } = artifact.ruleset.stats;
    lines.push(`firewall: ${rules} rules compiled to ${lookups} set lookups over ${elements} elements`);
    return lines;
  }

  /** What to return to: the last ruleset this process applied, or no table at all. */
  async snapshot(): Promise<FirewallArtifact> {
    return this.lastApplied ?? absentFirewall();
  }

  private async running(): Promise<string[] | undefined> {
    const result = await this.runner.run('nft', ['-t', '-j', 'list', 'table', 'inet', TABLE]);
    if (result.code !== 0) return undefined; // no table: everything has drifted
    const listing = JSON.parse(result.stdout) as { nftables: NftObject[] };
    return signatureOf(listing.nftables);
  }

  async drift(desired: FirewallArtifact): Promise<string[]> {
    return [...(await this.rulesetDrift(desired)), ...(this.firewallLog?.drift(desired.logging) ?? [])];
  }

  private async rulesetDrift(desired: FirewallArtifact): Promise<string[]> {
    const running = await this.running();
    if (!running) return desired.signature.length ? [`table inet ${TABLE} is missing`] : [];
    const want = desired.signature.join('\n');
    if (running.join('\n') === want) return [];
    const missing = desired.signature.filter((l) => !running.includes(l));
    const extra = running.filter((l) => !desired.signature.includes(l));
    const notes = [...missing.map((l) => `missing: ${l}`), ...extra.map((l) => `unexpected: ${l}`)];
    return notes.length ? notes.slice(0, 20) : ['rule order differs'];
  }

  async apply(desired: FirewallArtifact): Promise<string[]> {
    const logActions = (await this.firewallLog?.ensure(desired.logging)) ?? [];
    // The listing shows structure, not elements: the hash covers the rest.
    if (this.appliedHash === desired.hash && (await this.rulesetDrift(desired)).length === 0) return logActions;
    const dir = join(this.stateDir, 'nft');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, 'ruleset.json');
    await writeFile(file, JSON.stringify({ nftables: desired.ruleset.nftables }), { mode: 0o600 });
    for (const args of [['-c', '-j', '-f', file], ['-j', '-f', file]]) {
      const result = await this.runner.run('nft', args);
      if (result.code !== 0) {
        const index = parseNftErrorIndex(result.stderr);
        const path = index !== undefined ? desired.ruleset.origins[index] : undefined;
        const firstLine = result.stderr.trim().split('\n')[0] ?? 'nft failed';
        throw new ApplyFailed(this.name, `nft ${args[0] === '-c' ? 'check' : 'apply'} failed: ${firstLine}`, path);
      }
    }
    this.appliedHash = desired.hash;
    this.lastApplied = desired;
    return [`nft -j -f ${file} (${desired.ruleset.stats.rules} rules, ${desired.ruleset.stats.elements} elements)`, ...logActions];
  }

  private appliedHash?: string;
  private lastApplied?: FirewallArtifact;
}
