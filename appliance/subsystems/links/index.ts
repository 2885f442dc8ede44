// Links: interface MTU, admin state, addresses and the forwarding sysctls.
// Junction owns the addresses of every interface in the config (except
// IPv6 link-local and DHCP-assigned ones) and nothing on other interfaces.
// It also reads the kernel's interfaces for the reconciler to select those
// the document picks by match (model/selection.ts): everything here, as in
// every other subsystem, sees kernel names.
import type { Config } from '../../model/schema.js';
import type { Problem } from '../../model/problems.js';
import { runChecked, type CommandRunner } from '../../platform/command-runner.js';
import { parseAddress, parsePrefix, formatAddress } from '../../model/ip.js';
import type { FirewallNeeds, Subsystem } from '../../core/subsystem.js';
import { dhcpClientSelfServices } from './self-services.js';
import type { DhcpClients } from './dhcp-client.js';
import { interfacesStatus } from './status.js';
import { linksMetrics } from './metrics.js';
import type { MetricFamily } from '../../core/metric-samples.js';
import { FORWARDING_SYSCTLS } from './sysctls.js';
import { Sysctls } from '../../platform/sysctls.js';
import { verifyMatches, type BoundInterface, type KernelInterface, type Selected } from '../../model/selection.js';
import { readKernelInterfaces } from './inventory.js';

export interface LinkSpec {
  name: string;
  mtu?: number;
  /** "address/prefix", canonical text */
  addresses: string[];
  dhcp: boolean;
  /** the document's name and the criteria, when match selected this interface */
  selected?: Selected;
}

export interface LinksArtifact {
  links: LinkSpec[];
  sysctls: Record<string, string>;
}

interface ObservedLink {
  ifname: string;
  mtu: number;
  flags: string[];
  addr_info: Array<{ family: string; local: string; prefixlen: number; scope: string; dynamic?: boolean }>;
}

function canonicalAddress(text: string): string {
  const p = parsePrefix(text)!;
  return `${formatAddress(p.family, p.address)}/${p.length}`;
}

/** The addresses Junction manages on a link: all but IPv6 link-local. */
function ownedAddresses(link: ObservedLink): string[] {
  return link.addr_info
    .filter((a) => !(a.family === 'inet6' && a.scope === 'link'))
    .map((a) => canonicalAddress(`${a.local}/${a.prefixlen}`));
}

/** Addresses the router must own for NAT: SNAT sources and 1:1 external addresses. */
function natAddresses(config: Config): Map<string, string[]> {
  const extra = new Map<string, string[]>();
  const add = (iface: string, address: string) => {
    const parsed = parseAddress(address);
    if (!parsed) return;
    const list = extra.get(iface) ?? [];
    list.push(`${formatAddress(parsed.family, parsed.value)}/${parsed.family === 4 ? 32 : 128}`);
    extra.set(iface, list);
  };
  for (const rule of config.nat?.egress ?? []) if (rule.mode === 'snat' && rule.to_address) add(rule.interface, rule.to_address);
  for (const nat of config.nat?.one_to_one ?? []) add(nat.interface, nat.external);
  for (const fwd of config.nat?.port_forwards ?? []) if (fwd.external_address) add(fwd.interface, fwd.external_address);
  return extra;
}

export function renderLinks(config: Config): LinksArtifact {
  const extra = natAddresses(config);
  const links = (config.interfaces as BoundInterface[]).map((iface): LinkSpec => {
    const own = (iface.addresses ?? []).map(canonicalAddress);
    const hosts = (extra.get(iface.name) ?? []).filter((a) => !own.some((o) => o.split('/')[0] === a.split('/')[0]));
    return {
      name: iface.name,
      ...(iface.mtu !== undefined ? { mtu: iface.mtu } : {}),
      addresses: [...new Set([...own, ...hosts])],
      dhcp: iface.dhcp === true,
      ...(iface.selected ? { selected: iface.selected } : {}),
    };
  });
  return { links, sysctls: { ...FORWARDING_SYSCTLS } };
}

export class LinksSubsystem implements Subsystem<LinksArtifact> {
  readonly name = 'links';
  firewallNeeds(config: Config): FirewallNeeds {
    return { selfServices: dhcpClientSelfServices(config) };
  }

  statusReport(config: Config | undefined): Promise<Record<string, unknown>> {
    return interfacesStatus(this.runner, config, (iface) => this.dhcp?.lease(iface));
  }

  metrics(): Promise<MetricFamily[]> {
    return linksMetrics(this.runner, this.dhcp?.states());
  }

  constructor(
    private readonly runner: CommandRunner,
    private readonly dhcp?: DhcpClients,
    private readonly sysctls: Sysctls = new Sysctls(runner),
  ) {}

  verify(config: Config): Problem[] {
    return verifyMatches(config.interfaces);
  }

  /** The kernel's interfaces, for selection by match (the reconciler asks before it renders). */
  kernelInterfaces(): Promise<KernelInterface[]> {
    return readKernelInterfaces(this.runner);
  }

  render(config: Config): LinksArtifact {
    return renderLinks(config);
  }

  /** Every link setting, address and sysctl by content, sorted: list order means nothing to the kernel. */
  describe(artifact: LinksArtifact): string[] {
    const lines: string[] = [];
    for (const link of artifact.links) {
      lines.push(`interface ${link.name} up${link.mtu ? ` mtu ${link.mtu}` : ''}${link.dhcp ? ' dhcp' : ''}`);
      // Which NIC a role got: the MAC, not the criteria, so a new match that lands on the same NIC changes nothing.
      if (link.selected) lines.push(`interface ${link.selected.as} -> ${link.name}${link.selected.mac ? ` (mac ${link.selected.mac})` : ''}`);
      // A DHCP link's addresses belong to its client: apply does not set them.
      if (!link.dhcp) for (const a of link.addresses) lines.push(`address ${a} on ${link.name}`);
    }
    for (const [k, v] of Object.entries(artifact.sysctls)) lines.push(`sysctl ${k}=${v}`);
    return lines.sort();
  }

  /** A missing or ambiguous interface was found when the reconciler selected them; here: the sysctls. */
  async check(desired: LinksArtifact): Promise<Problem[]> {
    // Before anything is applied: a container whose runtime did not set them cannot get them from us.
    const sysctls = await this.sysctls.unreachable(desired.sysctls);
    return sysctls ? [{ path: '/interfaces', message: sysctls }] : [];
  }

  async observe(): Promise<Map<string, ObservedLink>> {
    const out = await runChecked(this.runner, 'ip', ['-j', 'addr', 'show']);
    const links = JSON.parse(out || '[]') as ObservedLink[];
    return new Map(links.map((l) => [l.ifname, l]));
  }

  async snapshot(desired: LinksArtifact): Promise<LinksArtifact> {
    const observed = await this.observe();
    const links = desired.links.flatMap((link): LinkSpec[] => {
      const current = observed.get(link.name);
      if (!current) return [];
      const addresses = ownedAddresses(current);
      const dhcp = this.dhcp?.running().includes(link.name) ?? false;
      return [{ name: link.name, mtu: current.mtu, addresses, dhcp }];
    });
    const sysctls: Record<string, string> = {};
    for (const key of Object.keys(desired.sysctls)) sysctls[key] = await this.sysctls.read(key);
    return { links, sysctls };
  }

  /** The commands that would bring the system to the artifact, add before delete. */
  private async actions(desired: LinksArtifact): Promise<string[][]> {
    const observed = await this.observe();
    const adds: string[][] = [];
    const deletes: string[][] = [];
    for (const link of desired.links) {
      const current = observed.get(link.name);
      if (!current) continue; // reported by check(); nothing to do to a missing link
      if (link.mtu !== undefined && current.mtu !== link.mtu) adds.push(['ip', 'link', 'set', 'dev', link.name, 'mtu', String(link.mtu)]);
      if (!current.flags.includes('UP')) adds.push(['ip', 'link', 'set', 'dev', link.name, 'up']);
      if (link.dhcp) continue; // the DHCP client owns this interface's addresses
      const have = ownedAddresses(current);
      for (const a of link.addresses) if (!have.includes(a)) adds.push(['ip', 'addr', 'add', a, 'dev', link.name]);
      for (const a of have) if (!link.addresses.includes(a)) deletes.push(['ip', 'addr', 'del', a, 'dev', link.name]);
    }
    return [...adds, ...deletes];
  }

  private dhcpInterfaces(desired: LinksArtifact): string[] {
    return desired.links.filter((l) => l.dhcp).map((l) => l.name);
  }

  async drift(desired: LinksArtifact): Promise<string[]> {
    const commands = (await this.actions(desired)).map((a) => a.join(' '));
    const sysctls = (await this.sysctls.differences(desired.sysctls)).map((d) => `sysctl -q -w ${d.key}=${d.want}`);
    return [...commands, ...sysctls, ...(this.dhcp?.drift(this.dhcpInterfaces(desired)) ?? [])];
  }

  async apply(desired: LinksArtifact): Promise<string[]> {
    // First: where /proc/sys is read-only this fails naming the entries to add, before any link changes.
    const done = await this.sysctls.ensure(desired.sysctls);
    const actions = await this.actions(desired);
    for (const [program, ...args] of actions) await runChecked(this.runner, program, args);
    done.push(...actions.map((a) => a.join(' ')));
    if (this.dhcp) done.push(...(await this.dhcp.ensure(this.dhcpInterfaces(desired))));
    else if (this.dhcpInterfaces(desired).length) throw new Error('this appliance was built without a DHCP client');
    return done;
  }
}
