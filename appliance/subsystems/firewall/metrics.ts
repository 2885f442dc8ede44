// The firewall's part of GET /metrics: each rule's counter (by rule id and
// policy: the sum of its set elements' counters) and each policy's
// default-action counter, the NAT rules'
// counters (by NAT entry id), conntrack's fill and limit, and the log
// reader's restarts. Read from the kernel (status.ts's listing of sets and counters, and
// the two NAT chains); the config only names what the kernel counts.
import type { CommandRunner } from '../../platform/command-runner.js';
import { readJson } from '../../platform/command-runner.js';
import type { Config } from '../../model/schema.js';
import { defaultCounterName, TABLE } from '../../../rules/index.js';
import { daemonFamilies, family, type MetricFamily, type MetricSample } from '../../core/metric-samples.js';
import type { FirewallStatus } from './status.js';

const RULE = ['policy', 'rule'] as const;
const NAT = ['kind', 'id', 'hook'] as const;
const NAT_NOTE = 'NAT chains see only the first packet of each connection, so this counts new connections translated';

export const FIREWALL_SPECS = {
  ruleBytes: { name: 'junction_firewall_rule_bytes_total', help: 'Bytes matched by a firewall rule, by policy and rule id', type: 'counter' as const, labelNames: RULE },
  rulePackets: { name: 'junction_firewall_rule_packets_total', help: 'Packets matched by a firewall rule, by policy and rule id', type: 'counter' as const, labelNames: RULE },
  defaultBytes: { name: 'junction_firewall_policy_default_bytes_total', help: "Bytes that fell through to a policy's default action", type: 'counter' as const, labelNames: ['policy'] },
  defaultPackets: { name: 'junction_firewall_policy_default_packets_total', help: "Packets that fell through to a policy's default action", type: 'counter' as const, labelNames: ['policy'] },
  loaded: { name: 'junction_firewall_loaded', help: "Whether Junction's nftables table is in the kernel (1) or not (0)", type: 'gauge' as const, labelNames: [] },
  natBytes: { name: 'junction_nat_bytes_total', help: `Bytes of packets a NAT entry translated, by kind (port_forward, one_to_one, egress), id and hook; ${NAT_NOTE}`, type: 'counter' as const, labelNames: NAT },
  natPackets: { name: 'junction_nat_packets_total', help: `Packets a NAT entry translated, by kind, id and hook; ${NAT_NOTE}`, type: 'counter' as const, labelNames: NAT },
  conntrackEntries: { name: 'junction_conntrack_entries', help: 'Connections the kernel tracks now (nf_conntrack_count)', type: 'gauge' as const, labelNames: [] },
  conntrackLimit: { name: 'junction_conntrack_limit', help: 'Connections the kernel can track (nf_conntrack_max)', type: 'gauge' as const, labelNames: [] },
};

const NAT_CHAINS = { nat_prerouting: 'prerouting', nat_postrouting: 'postrouting' } as const;

type ChainListing = { nftables: Array<{ rule?: { comment?: string; expr?: Array<{ counter?: { packets: number; bytes: number } }> } }> };

/** Each NAT entry's configured kind, by the id its rules carry as comment. */
function natKinds(config: Config | undefined): Map<string, string> {
  const kinds = new Map<string, string>();
  for (const entry of config?.nat?.port_forwards ?? []) kinds.set(entry.id, 'port_forward');
  for (const entry of config?.nat?.one_to_one ?? []) kinds.set(entry.id, 'one_to_one');
  for (const entry of config?.nat?.egress ?? []) kinds.set(entry.id, 'egress');
  return kinds;
}

/** The NAT rules' counters, summed per entry and hook (an egress entry has a rule per address family). */
async function natCounters(runner: CommandRunner, config: Config | undefined): Promise<{ packets: MetricSample[]; bytes: MetricSample[] }> {
  const kinds = natKinds(config);
  const totals = new Map<string, { labels: Record<string, string>; packets: number; bytes: number }>();
  const listings = await Promise.all(Object.keys(NAT_CHAINS).map((chain) => readJson<ChainListing>(runner, 'nft', ['-j', 'list', 'chain', 'inet', TABLE, chain])));
  Object.values(NAT_CHAINS).forEach((hook, i) => {
    for (const { rule } of listings[i]?.nftables ?? []) {
      const kind = rule?.comment ? kinds.get(rule.comment) : undefined;
      const counter = rule?.expr?.find((e) => e.counter)?.counter;
      if (!kind || !counter) continue;
      const key = `${rule!.comment}\n${hook}`;
      const total = totals.get(key) ?? { labels: { kind, id: rule!.comment!, hook }, packets: 0, bytes: 0 };
      total.packets += counter.packets;
      total.bytes += counter.bytes;
      totals.set(key, total);
    }
  });
  const all = [...totals.values()];
  return { packets: all.map((t) => ({ labels: t.labels, value: t.packets })), bytes: all.map((t) => ({ labels: t.labels, value: t.bytes })) };
}

/** @param readStatus the rule and built-in counters and conntrack (status.ts's firewallStatus; a seam for unit tests) */
export async function firewallMetrics(runner: CommandRunner, config: Config | undefined, logReader: { running: boolean; restarts: number } | undefined, readStatus: () => Promise<FirewallStatus>): Promise<MetricFamily[]> {
  const [status, nat] = await Promise.all([readStatus(), natCounters(runner, config)]);
  const { rules, builtin, loaded } = status.firewall;
  const defaults = (config?.firewall?.policies ?? []).flatMap((p) => {
    const counter = builtin.find((b) => b.name === defaultCounterName(p.name));
    return counter ? [{ policy: p.name, ...counter }] : [];
  });
  const { count, max } = status.conntrack;
  return [
    family(FIREWALL_SPECS.ruleBytes, rules.map((r) => ({ labels: { policy: r.policy, rule: r.id }, value: r.bytes }))),
    family(FIREWALL_SPECS.rulePackets, rules.map((r) => ({ labels: { policy: r.policy, rule: r.id }, value: r.packets }))),
    family(FIREWALL_SPECS.defaultBytes, defaults.map((d) => ({ labels: { policy: d.policy }, value: d.bytes }))),
    family(FIREWALL_SPECS.defaultPackets, defaults.map((d) => ({ labels: { policy: d.policy }, value: d.packets }))),
    family(FIREWALL_SPECS.loaded, [{ value: loaded ? 1 : 0 }]),
    family(FIREWALL_SPECS.natBytes, nat.bytes),
    family(FIREWALL_SPECS.natPackets, nat.packets),
    family(FIREWALL_SPECS.conntrackEntries, count === null ? [] : [{ value: count }]),
    family(FIREWALL_SPECS.conntrackLimit, max === null ? [] : [{ value: max }]),
    ...(logReader ? daemonFamilies([{ daemon: 'ulogd', ...logReader }]) : []),
  ];
}
