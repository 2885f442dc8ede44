// The links' part of GET /metrics: every kernel interface's bytes, packets,
// errors and drops by direction and its operational state, from one
// `ip -j -s link show`, plus the DHCP clients' restarts. Read from the
// kernel, never from the config.
import type { CommandRunner } from '../../platform/command-runner.js';
import { readJson } from '../../platform/command-runner.js';
import { daemonFamilies, family, type MetricFamily, type MetricSample } from '../../core/metric-samples.js';

interface DirectionStats {
  bytes: number;
  packets: number;
  errors: number;
  dropped: number;
}

interface LinkStats {
  ifname: string;
  operstate: string;
  stats64?: { rx: DirectionStats; tx: DirectionStats };
}

const IFACE = ['interface'] as const;
const BY_DIRECTION = ['interface', 'direction'] as const;
const counterSpec = (what: string, help: string) => ({ name: `junction_interface_${what}_total`, help, type: 'counter' as const, labelNames: BY_DIRECTION });

export const INTERFACE_SPECS = {
  bytes: counterSpec('bytes', 'Bytes through an interface, by direction (receive, transmit), as the kernel counts them'),
  packets: counterSpec('packets', 'Packets through an interface, by direction'),
  errors: counterSpec('errors', 'Packets with errors on an interface, by direction'),
  drops: counterSpec('drops', 'Packets the kernel dropped on an interface, by direction'),
  up: { name: 'junction_interface_up', help: 'Whether an interface is operationally up (1) or not (0); unknown (no carrier concept, e.g. tun) counts as up', type: 'gauge' as const, labelNames: IFACE },
};

export interface DhcpClientState {
  interface: string;
  running: boolean;
  restarts: number;
}

export async function linksMetrics(runner: CommandRunner, dhcpClients: DhcpClientState[] = []): Promise<MetricFamily[]> {
  const links = ((await readJson<LinkStats[]>(runner, 'ip', ['-j', '-s', 'link', 'show'])) ?? []).filter((l) => l.ifname !== 'lo');
  const byDirection = (pick: (s: DirectionStats) => number): MetricSample[] =>
    links.flatMap((l) => (l.stats64 ? [
      { labels: { interface: l.ifname, direction: 'receive' }, value: pick(l.stats64.rx) },
      { labels: { interface: l.ifname, direction: 'transmit' }, value: pick(l.stats64.tx) },
    ] : []));
  return [
    family(INTERFACE_SPECS.bytes, byDirection((s) => s.bytes)),
    family(INTERFACE_SPECS.packets, byDirection((s) => s.packets)),
    family(INTERFACE_SPECS.errors, byDirection((s) => s.errors)),
    family(INTERFACE_SPECS.drops, byDirection((s) => s.dropped)),
    family(INTERFACE_SPECS.up, links.map((l) => ({ labels: { interface: l.ifname }, value: l.operstate === 'UP' || l.operstate === 'UNKNOWN' ? 1 : 0 }))),
    ...daemonFamilies(dhcpClients.map((c) => ({ daemon: `udhcpc(${c.interface})`, running: c.running, restarts: c.restarts }))),
  ];
}
