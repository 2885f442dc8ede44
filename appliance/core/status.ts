// What the box is doing now: interfaces, addresses, routes, rule counters
// and conntrack, read from the kernel (never from the config). Reads are
// cached briefly so a dashboard polling status does not fork per request.
import { readFile } from 'node:fs/promises';
import type { CommandRunner } from '../platform/command-runner.js';
import type { Config } from '../model/schema.js';
import type { Capabilities } from '../platform/capabilities.js';
import { counterName, TABLE } from '../../rules/index.js';

export interface InterfaceStatus {
  name: string;
  configured: boolean;
  role?: string;
  zone?: string;
  state: string;
  mtu: number;
  mac?: string;
  addresses: string[];
  rx_bytes?: number;
  tx_bytes?: number;
  rx_packets?: number;
  tx_packets?: number;
  dhcp_lease?: unknown;
}

export interface RuleCounter {
  id: string;
  policy: string;
  packets: number;
  bytes: number;
}

export interface StatusReport {
  collected_at: string;
  revision: number | null;
  capabilities: Capabilities;
  interfaces: InterfaceStatus[];
  routes: Array<Record<string, unknown>>;
  firewall: { loaded: boolean; rules: RuleCounter[]; builtin: Array<{ name: string; packets: number; bytes: number }> };
  conntrack: { count: number | null; max: number | null };
  reconcile?: unknown;
}

interface IpLink {
  ifname: string;
  operstate: string;
  mtu: number;
  address?: string;
  addr_info?: Array<{ local: string; prefixlen: number; scope: string; family: string }>;
  stats64?: { rx: { bytes: number; packets: number }; tx: { bytes: number; packets: number } };
}

async function readNumber(path: string): Promise<number | null> {
  try {
    return Number((await readFile(path, 'utf8')).trim());
  } catch {
    return null;
  }
}

export class StatusService {
  private cache: { at: number; report: Promise<StatusReport> } | undefined;

  constructor(
    private readonly runner: CommandRunner,
    private readonly context: () => { config?: Config; revision: number | null; capabilities: Capabilities; reconcile?: unknown; dhcpLease?: (iface: string) => unknown },
    private readonly maxAgeMs = 1000,
  ) {}

  report(): Promise<StatusReport> {
    const now = Date.now();
    if (!this.cache || now - this.cache.at > this.maxAgeMs) {
      const report = this.collect();
      this.cache = { at: now, report };
      report.catch(() => (this.cache = undefined));
    }
    return this.cache.report;
  }

  /** Forget the cached report (after a commit the next read must be fresh). */
  invalidate(): void {
    this.cache = undefined;
  }

  private async json<T>(program: string, args: string[]): Promise<T | undefined> {
    const result = await this.runner.run(program, args);
    if (result.code !== 0 || !result.stdout.trim()) return undefined;
    return JSON.parse(result.stdout) as T;
  }

  private async collect(): Promise<StatusReport> {
    const { config, revision, capabilities, reconcile, dhcpLease } = this.context();
    const [addrs, stats, routes4, routes6, counters, count, max] = await Promise.all([
      this.json<IpLink[]>('ip', ['-j', 'addr', 'show']),
      this.json<IpLink[]>('ip', ['-j', '-s', 'link', 'show']),
      this.json<Array<Record<string, unknown>>>('ip', ['-4', '-j', 'route', 'show', 'table', 'main']),
      this.json<Array<Record<string, unknown>>>('ip', ['-6', '-j', 'route', 'show', 'table', 'main']),
      this.json<{ nftables: Array<Record<string, { name: string; table: string; packets: number; bytes: number }>> }>('nft', ['-j', 'list', 'counters', 'table', 'inet', TABLE]),
      readNumber('/proc/sys/net/netfilter/nf_conntrack_count'),
      readNumber('/proc/sys/net/netfilter/nf_conntrack_max'),
    ]);
    const statsByName = new Map((stats ?? []).map((l) => [l.ifname, l.stats64]));
    const configured = new Map((config?.interfaces ?? []).map((i) => [i.name, i]));
    const interfaces = (addrs ?? [])
      .filter((l) => l.ifname !== 'lo')
      .map((l): InterfaceStatus => {
        const c = configured.get(l.ifname);
        const s = statsByName.get(l.ifname);
        const lease = c?.dhcp ? dhcpLease?.(l.ifname) : undefined;
        return {
          name: l.ifname,
          configured: !!c,
          ...(c ? { role: c.role, zone: c.zone } : {}),
          state: l.operstate,
          mtu: l.mtu,
          ...(l.address ? { mac: l.address } : {}),
          addresses: (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`),
          ...(s ? { rx_bytes: s.rx.bytes, tx_bytes: s.tx.bytes, rx_packets: s.rx.packets, tx_packets: s.tx.packets } : {}),
          ...(c?.dhcp ? { dhcp_lease: lease ?? null } : {}),
        };
      });

    const byCounter = new Map<string, { id: string; policy: string }>();
    for (const policy of config?.firewall?.policies ?? []) {
      for (const rule of policy.rules) byCounter.set(counterName(rule.id), { id: rule.id, policy: policy.name });
    }
    const rules: RuleCounter[] = [];
    const builtin: StatusReport['firewall']['builtin'] = [];
    for (const entry of counters?.nftables ?? []) {
      const counter = entry.counter;
      if (!counter) continue;
      const rule = byCounter.get(counter.name);
      if (rule) rules.push({ ...rule, packets: counter.packets, bytes: counter.bytes });
      else builtin.push({ name: counter.name, packets: counter.packets, bytes: counter.bytes });
    }
    return {
      collected_at: new Date().toISOString(),
      revision,
      capabilities,
      interfaces,
      routes: [...(routes4 ?? []), ...(routes6 ?? [])],
      firewall: { loaded: counters !== undefined, rules, builtin },
      conntrack: { count, max },
      ...(reconcile ? { reconcile } : {}),
    };
  }
}
