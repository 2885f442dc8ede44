// The firewall's part of GET /v1/status: every rule's counter (by rule id
// and policy), the built-in counters, and conntrack's fill. The values are
// the kernel's: a rule counts in the per-element counters of the sets its
// run looks up, and its counter is the sum over the elements it owns. Which
// rule owns which element is known from the ruleset this process applied
// (the compiler's RuleCounters), never guessed from the config.
import { readFile } from 'node:fs/promises';
import type { CommandRunner } from '../../platform/command-runner.js';
import { readJson } from '../../platform/command-runner.js';
import { TABLE, type RuleCounters } from '../../../rules/index.js';
import { tableContent } from './content.js';

export interface RuleCounter {
  id: string;
  policy: string;
  packets: number;
  bytes: number;
}

export type FirewallStatus = {
  firewall: { loaded: boolean; rules: RuleCounter[]; builtin: Array<{ name: string; packets: number; bytes: number }> };
  conntrack: { count: number | null; max: number | null };
};

/** The applied ruleset's rule counters and its sets' elements (element line -> element, in batch order). */
export interface AppliedCounters {
  ruleCounters: RuleCounters;
  elements: ReadonlyMap<string, ReadonlyMap<string, unknown>>;
}

async function readNumber(path: string): Promise<number | null> {
  try {
    return Number((await readFile(path, 'utf8')).trim());
  } catch {
    return null;
  }
}

type Listing = { nftables: unknown[] };
type CounterListing = { nftables: Array<Record<string, { name: string; table: string; packets: number; bytes: number }>> };
type ListedElement = { elem?: { counter?: { packets?: number; bytes?: number } } };

/** Each rule's counter: the sum of the kernel's counters of the elements it owns. */
export function sumRuleCounters(applied: AppliedCounters, kernelElements: ReadonlyMap<string, ReadonlyMap<string, unknown>>): RuleCounter[] {
  const totals = new Map<string, RuleCounter>();
  for (const { policy, ids } of applied.ruleCounters.rules) for (const id of ids) totals.set(id, { id, policy, packets: 0, bytes: 0 });
  for (const set of applied.ruleCounters.sets) {
    const have = kernelElements.get(set.name);
    const lines = applied.elements.get(set.name);
    if (!have || !lines) continue;
    let i = 0;
    for (const line of lines.keys()) {
      const owner = totals.get(set.owners[i++]);
      const counter = (have.get(line) as ListedElement | undefined)?.elem?.counter;
      if (!owner || !counter) continue;
      owner.packets += counter.packets ?? 0;
      owner.bytes += counter.bytes ?? 0;
    }
  }
  return [...totals.values()];
}

/** @param applied what this process applied last (undefined before its first apply: no rule counters then) */
export async function firewallStatus(runner: CommandRunner, applied: AppliedCounters | undefined): Promise<FirewallStatus> {
  const [sets, counters, count, max] = await Promise.all([
    applied?.ruleCounters.sets.length ? readJson<Listing>(runner, 'nft', ['-j', 'list', 'sets', 'table', 'inet', TABLE]) : Promise.resolve(undefined),
    readJson<CounterListing>(runner, 'nft', ['-j', 'list', 'counters', 'table', 'inet', TABLE]),
    readNumber('/proc/sys/net/netfilter/nf_conntrack_count'),
    readNumber('/proc/sys/net/netfilter/nf_conntrack_max'),
  ]);
  const loaded = counters !== undefined;
  const rules = loaded && applied ? sumRuleCounters(applied, tableContent(sets?.nftables ?? []).elements) : [];
  const builtin: FirewallStatus['firewall']['builtin'] = [];
  for (const entry of counters?.nftables ?? []) {
    const counter = entry.counter;
    if (counter) builtin.push({ name: counter.name, packets: counter.packets, bytes: counter.bytes });
  }
  return { firewall: { loaded, rules, builtin }, conntrack: { count, max } };
}
