// The kernel's interfaces as selection by match sees them (model/selection.ts):
// name, ifindex (attach order), MAC, kind and addresses, from one
// `ip -d -j addr show`. Read-only; the reconciler asks before every render.
import { runChecked, type CommandRunner } from '../../platform/command-runner.js';
import type { KernelInterface } from '../../model/selection.js';

interface IpDetailedLink {
  ifindex?: number;
  ifname: string;
  link_type?: string;
  address?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: Array<{ family: string; local: string; prefixlen: number; scope?: string }>;
}

export async function readKernelInterfaces(runner: CommandRunner): Promise<KernelInterface[]> {
  const links = JSON.parse((await runChecked(runner, 'ip', ['-d', '-j', 'addr', 'show'])) || '[]') as IpDetailedLink[];
  return links.map((l): KernelInterface => ({
    name: l.ifname,
    ...(l.ifindex !== undefined ? { ifindex: l.ifindex } : {}),
    ...(l.address ? { mac: l.address } : {}),
    ...(l.linkinfo?.info_kind ? { kind: l.linkinfo.info_kind } : {}),
    ...(l.link_type ? { linkType: l.link_type } : {}),
    // link-local addresses say nothing about which network a NIC is on
    addresses: (l.addr_info ?? []).filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`),
  }));
}
