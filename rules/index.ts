// The pure compiler from the firewall/NAT part of the config document to one
// nftables JSON batch that replaces the `inet junction` table atomically.
import type { Config } from '../appliance/model/schema.js';
import { Batch, type CompileContext, type CompileOptions, type RuleCounters } from './batch.js';
import type { CompileCache } from './compile-cache.js';
import { CompileError } from './errors.js';
import { emitFilterChains } from './filter-chains.js';
import { emitNatChains } from './nat-chains.js';
import * as nft from './nft-json.js';
import { emitPolicyChains } from './policy-chains.js';
import { Resolver } from './resolve.js';
import { emitTunnelOnlySets } from './tunnel-only.js';

export { CompileCache } from './compile-cache.js';
export { CompileError, type Problem } from './errors.js';
export type { CompileOptions, RuleCounters, SelfService, TunnelOnly, ZoneMember } from './batch.js';
export { defaultCounterName, policyChainName } from './policy-chains.js';
export { parseRunSetName, type Dimension, type RunShape } from './run-shape.js';
export { Resolver, type ServiceRange } from './resolve.js';
export const TABLE = nft.TABLE;
export const LOG_GROUP = nft.LOG_GROUP;

export interface CompiledRuleset {
  /** the commands of the batch: write `{"nftables": nftables}` and give it to `nft -j -f` */
  nftables: object[];
  /** origins[i]: the document path (or a fixed "junction:..." label) that produced nftables[i] */
  origins: string[];
  /** which rule owns each element of the counted sets (a rule's counter is the sum over its elements) */
  ruleCounters: RuleCounters;
  /** some rule or policy default logs: the NFLOG reader must run */
  logging: boolean;
  stats: {
    /** nft rule commands */
    rules: number;
    /** set and map elements */
    elements: number;
    /** set/map lookups in policy chains (what a packet pays per policy, at most) */
    lookups: number;
  };
}

/**
 * With a cache (one per caller, kept across compiles), the parts of `config`
 * that are the same frozen objects as in the last successful compile are
 * not compiled again (compile-cache.ts); the result is the same either way.
 */
export function compileRuleset(config: Config, options: CompileOptions, cache?: CompileCache): CompiledRuleset {
  const resolver = new Resolver(config);
  const batch = new Batch();
  const ctx: CompileContext = { config, options, resolver, batch, problems: [], rawChains: new Set(), cache, policyStates: new Map() };
  // add + delete + add replaces the table whether or not it existed, in one transaction.
  batch.add('head', nft.addTable(), 'junction:table');
  batch.add('head', nft.deleteTable(), 'junction:table');
  batch.add('head', nft.addTable(), 'junction:table');
  emitPolicyChains(ctx);
  const tunnelOnly = emitTunnelOnlySets(ctx);
  const egressAllow = emitNatChains(ctx, tunnelOnly);
  emitFilterChains(ctx, egressAllow, tunnelOnly);
  const problems = [...resolver.problems, ...ctx.problems];
  if (problems.length) throw new CompileError(problems);
  cache?.keepPolicyStates(ctx.policyStates);
  const { nftables, origins } = batch.finish();
  return { nftables, origins, ruleCounters: batch.ruleCounters, logging: batch.logging, stats: { rules: batch.ruleCount, elements: batch.elements, lookups: batch.lookups } };
}
