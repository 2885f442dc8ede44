// DHCP's part of GET /metrics: active leases and pool size per served
// interface (the shared families the dashboard and the Grafana board read),
// and dnsmasq's up/restarts. Built from the same status reading as
// GET /v1/dhcp/leases; the pool is counted from the configuration.
import { daemonFamilies, family, SHARED_FAMILIES, type MetricFamily } from '../../core/metric-samples.js';
import { parseAddress } from '../../model/ip.js';
import type { Config } from '../../model/schema.js';
import type { DhcpStatus } from './status.js';

/** Addresses the dynamic ranges of each served interface hold, plus its reservations. */
export function poolSizes(config: Config | undefined): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const server of config?.dhcp?.servers ?? []) {
    if (server.dhcp === false) continue;
    const dynamic = (server.ranges ?? []).reduce((sum, r) => {
      const start = parseAddress(r.start)?.value;
      const end = parseAddress(r.end)?.value;
      return start === undefined || end === undefined || end < start ? sum : sum + Number(end - start) + 1;
    }, 0);
    sizes.set(server.interface, dynamic + (server.reservations ?? []).length);
  }
  return sizes;
}

export function dhcpFamilies(config: Config | undefined, status: DhcpStatus, now = Date.now()): MetricFamily[] {
  const pools = poolSizes(config);
  const active = new Map<string, number>([...pools.keys()].map((iface) => [iface, 0]));
  for (const lease of status.leases) {
    if (!lease.interface) continue;
    const expires = lease.expires ? Date.parse(lease.expires) : NaN;
    if (!Number.isNaN(expires) && expires < now) continue;
    active.set(lease.interface, (active.get(lease.interface) ?? 0) + 1);
  }
  return [
    family(SHARED_FAMILIES.dhcpLeases, [...active].map(([iface, value]) => ({ labels: { interface: iface }, value }))),
    family(SHARED_FAMILIES.dhcpPoolSize, [...pools].map(([iface, value]) => ({ labels: { interface: iface }, value }))),
    ...daemonFamilies([{ daemon: 'dnsmasq', running: status.dnsmasq.running, restarts: status.dnsmasq.restarts }]),
  ];
}
