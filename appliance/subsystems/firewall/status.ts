// The firewall's part of GET /v1/status: every rule's named counter (by
// rule id and policy), the built-in counters, and conntrack's fill. Read
// from the kernel, never from the config.
import { readFile } from 'node:fs/promises';
import type { CommandRunner } from '../../platform/command-runner.js';
import type { Config } from '../../model/schema.js';
import { readJson } from '../../platform/command-runner.js';
import { counterName, TABLE } from '../../../rules/index.js';

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

async function readNumber(path: string): Promise<number | null> {
  try {
    return Number((await readFile(path, 'utf8')).trim());
  } catch {
    return null;
  }
}

type CounterListing = { nftables: Array<Record<string, { name: string; table: string; packets: number; bytes: number }>> };

export async function firewallStatus(runner: CommandRunner, config: Config | undefined): Promise<FirewallStatus> {
  const [counters, count, max] = await Promise.all([
    readJson<CounterListing>(runner, 'nft', ['-j', 'list', 'counters', 'table', 'inet', TABLE]),
    readNumber('/proc/sys/net/netfilter/nf_conntrack_count'),
    readNumber('/proc/sys/net/netfilter/nf_conntrack_max'),
  ]);
  const byCounter = new Map<string, { id: string; policy: string }>();
  for (const policy of config?.firewall?.policies ?? []) {
    for (const rule of policy.rules) byCounter.set(counterName(rule.id), { id: rule.id, policy: policy.name });
  }
  const rules: RuleCounter[] = [];
  const builtin: FirewallStatus['firewall']['builtin'] = [];
  for (const entry of counters?.nftables ?? []) {
    const counter = entry.counter;
    if (!counter) continue;
    const rule = byCounter.get(counter.name);
    if (rule) rules.push({ ...rule, packets: counter.packets, bytes: counter.bytes });
    else builtin.push({ name: counter.name, packets: counter.packets, bytes: counter.bytes });
  }
  return { firewall: { loaded: counters !== undefined, rules, builtin }, conntrack: { count, max } };
}
