// The links' part of GET /v1/status: every kernel interface with its
// addresses, state, MTU and counters, and the name, role, zone and DHCP
// lease the document gives it, and how it was selected (by name, or by the
// match criteria). Read from the kernel, never from the config; the config
// it gets is the running one, bound to kernel names (model/selection.ts).
import type { CommandRunner } from '../../platform/command-runner.js';
import type { Config } from '../../model/schema.js';
import { readJson } from '../../platform/command-runner.js';
import type { BoundInterface } from '../../model/selection.js';

export interface InterfaceStatus {
  name: string;
  configured: boolean;
  /** the document's name for it (the kernel's name unless match selected it) */
  configured_name?: string;
  /** "name", or the match criteria that selected it: "mac 52:54:00:12:34:56" */
  selected_by?: string;
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

interface IpLink {
  ifname: string;
  operstate: string;
  mtu: number;
  address?: string;
  addr_info?: Array<{ local: string; prefixlen: number; scope: string; family: string }>;
  stats64?: { rx: { bytes: number; packets: number }; tx: { bytes: number; packets: number } };
}

export async function interfacesStatus(runner: CommandRunner, config: Config | undefined, dhcpLease?: (iface: string) => unknown): Promise<{ interfaces: InterfaceStatus[] }> {
  const [addrs, stats] = await Promise.all([readJson<IpLink[]>(runner, 'ip', ['-j', 'addr', 'show']), readJson<IpLink[]>(runner, 'ip', ['-j', '-s', 'link', 'show'])]);
  const statsByName = new Map((stats ?? []).map((l) => [l.ifname, l.stats64]));
  const configured = new Map((config?.interfaces as BoundInterface[] | undefined ?? []).map((i) => [i.name, i]));
  const interfaces = (addrs ?? [])
    .filter((l) => l.ifname !== 'lo')
    .map((l): InterfaceStatus => {
      const c = configured.get(l.ifname);
      const s = statsByName.get(l.ifname);
      const lease = c?.dhcp ? dhcpLease?.(l.ifname) : undefined;
      return {
        name: l.ifname,
        configured: !!c,
        ...(c ? { configured_name: c.selected?.as ?? c.name, selected_by: c.selected?.by ?? 'name', role: c.role, zone: c.zone } : {}),
        state: l.operstate,
        mtu: l.mtu,
        ...(l.address ? { mac: l.address } : {}),
        addresses: (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`),
        ...(s ? { rx_bytes: s.rx.bytes, tx_bytes: s.tx.bytes, rx_packets: s.rx.packets, tx_packets: s.tx.packets } : {}),
        ...(c?.dhcp ? { dhcp_lease: lease ?? null } : {}),
      };
    });
  return { interfaces };
}
