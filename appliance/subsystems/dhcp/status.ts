// The state side of the DHCP subsystem: the leases dnsmasq has handed out
// (its lease file, the only record dnsmasq keeps), and dnsmasq itself (pid,
// where it came from, restarts). GET /v1/dhcp/leases and the `dhcp` part of
// GET /v1/status read the same things. Reads only; changes nothing.
import { readFile } from 'node:fs/promises';
import type { DaemonOrigin } from '../../platform/supervisor.js';
import { parsePrefix, parseAddress } from '../../model/ip.js';
import type { DhcpRunning } from './config.js';
import { parseLeaseFile, type DhcpLease } from './leases.js';

export interface DhcpStatus {
  dnsmasq: { running: boolean; pid?: number; restarts: number; origin?: DaemonOrigin; recent_log?: string[] };
  /** the interfaces dnsmasq serves, as applied */
  dhcp_interfaces: string[];
  dns_interfaces: string[];
  leases: DhcpLease[];
  /** lines of the lease file that were not leases (0 normally) */
  unreadable_lease_lines?: number;
}

/** How many of dnsmasq's last log lines status shows when it is not running while it should. */
const LOG_LINES = 5;

/** The leases in dnsmasq's lease file, each with the served interface whose subnet holds it. */
export async function readLeases(running: DhcpRunning): Promise<{ leases: DhcpLease[]; unreadable: number }> {
  const text = await readFile(running.leaseFile, 'utf8').catch(() => '');
  const subnets = running.applied.subnets.flatMap((s) => {
    const prefix = parsePrefix(s.network);
    return prefix ? [{ interface: s.interface, prefix }] : [];
  });
  const interfaceOf = (address: string) => {
    const value = parseAddress(address)?.value;
    return value === undefined ? undefined : subnets.find((s) => s.prefix.first <= value && value <= s.prefix.last)?.interface;
  };
  return parseLeaseFile(text, interfaceOf);
}

export async function dhcpStatus(running: DhcpRunning): Promise<DhcpStatus> {
  const dnsmasq = running.dnsmasq;
  const pid = dnsmasq?.pid;
  const { leases, unreadable } = await readLeases(running);
  const stalled = running.applied.active && pid === undefined;
  return {
    dnsmasq: {
      running: pid !== undefined,
      ...(pid !== undefined ? { pid } : {}),
      restarts: dnsmasq?.restarts ?? 0,
      ...(dnsmasq?.origin ? { origin: dnsmasq.origin } : {}),
      ...(stalled && dnsmasq ? { recent_log: dnsmasq.recentLog().slice(-LOG_LINES) } : {}),
    },
    dhcp_interfaces: running.applied.dhcpInterfaces,
    dns_interfaces: running.applied.dnsInterfaces,
    leases,
    ...(unreadable ? { unreadable_lease_lines: unreadable } : {}),
  };
}
