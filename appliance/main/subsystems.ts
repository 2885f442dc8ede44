// The subsystems, in apply order, each with how it is built and what it
// needs from the machine: the one list a new subsystem joins. Apply order:
// the system settings; links before routes (next hops need addresses); the
// VPN once addresses exist; BGP after links and routes (sessions on the dx
// links need their addresses, and bird's kernel routes, proto bird metric
// 2000, sit beside the static ones, proto 77); DHCP and DNS for VPC hosts
// once the VPC interfaces have their addresses (dnsmasq binds to them); the firewall last: it opens
// what the others ask for (FirewallNeeds) from the same document, and if
// its apply fails everything before it is rolled back with it.
import type { FirewallNeeds, Subsystem } from '../core/subsystem.js';
import type { Config } from '../model/schema.js';
import type { CommandRunner } from '../platform/command-runner.js';
import type { Capabilities } from '../platform/capabilities.js';
import type { Logger } from '../platform/log.js';
import type { SubsystemRequirements } from '../platform/requirements.js';
import type { RequiredSysctl } from '../platform/sysctls.js';
import type { DhcpClients } from '../subsystems/links/dhcp-client.js';
import type { FirewallLog } from '../subsystems/firewall/log-reader.js';
import { SystemSubsystem } from '../subsystems/system/index.js';
import { LinksSubsystem } from '../subsystems/links/index.js';
import { linksRequirements } from '../subsystems/links/requirements.js';
import { LINKS_SYSCTLS } from '../subsystems/links/sysctls.js';
import { RoutesSubsystem } from '../subsystems/routes/index.js';
import { routesRequirements } from '../subsystems/routes/requirements.js';
import { VpnSubsystem } from '../subsystems/vpn/index.js';
import { vpnRequirements } from '../subsystems/vpn/requirements.js';
import { BgpSubsystem } from '../subsystems/bgp/index.js';
import { bgpRequirements } from '../subsystems/bgp/requirements.js';
import { BGP_REQUIRED_SYSCTLS } from '../subsystems/bgp/render.js';
import { DhcpSubsystem } from '../subsystems/dhcp/index.js';
import { dhcpRequirements } from '../subsystems/dhcp/requirements.js';
import { FirewallSubsystem } from '../subsystems/firewall/index.js';
import { firewallRequirements } from '../subsystems/firewall/requirements.js';

/** What the composition root hands every subsystem it builds. */
export interface SubsystemDeps {
  runner: CommandRunner;
  stateDir: string;
  log: Logger;
  capabilities: Capabilities;
  apiPort?: number;
  /** the DHCP client manager (real processes); without it a dhcp interface cannot be applied */
  dhcpClients?: DhcpClients;
  /** the NFLOG reader (a real process); without it, logging rules log nowhere readable */
  firewallLog?: FirewallLog;
  /** what all subsystems ask of the firewall for a document */
  firewallNeeds: (config: Config, capabilities: Capabilities) => FirewallNeeds;
}

export interface RegisteredSubsystem {
  create(deps: SubsystemDeps): Subsystem;
  /** binaries, packages, daemon plugins and kernel probes, checked by `junction doctor` and at serve start */
  requirements?: SubsystemRequirements;
  /** kernel settings it needs: a container must be given them (compose `sysctls:`, a Pod's securityContext) */
  sysctls?: readonly RequiredSysctl[];
}

export const SUBSYSTEMS: RegisteredSubsystem[] = [
  { create: (d) => new SystemSubsystem(d.runner) },
  { create: (d) => new LinksSubsystem(d.runner, d.dhcpClients), requirements: linksRequirements, sysctls: LINKS_SYSCTLS },
  { create: (d) => new RoutesSubsystem(d.runner), requirements: routesRequirements },
  { create: (d) => new VpnSubsystem({ runner: d.runner, stateDir: d.stateDir, log: d.log }), requirements: vpnRequirements },
  { create: (d) => new BgpSubsystem({ runner: d.runner, stateDir: d.stateDir, log: d.log, tcpMd5: () => d.capabilities.tcpMd5 }), requirements: bgpRequirements, sysctls: BGP_REQUIRED_SYSCTLS },
  { create: (d) => new DhcpSubsystem({ runner: d.runner, stateDir: d.stateDir, log: d.log }), requirements: dhcpRequirements },
  { create: (d) => new FirewallSubsystem(d.runner, d.stateDir, () => d.apiPort, d.firewallLog, d.firewallNeeds), requirements: firewallRequirements },
];

/** Every sysctl Junction needs: what compose.yaml and the manifests under deploy/ must set. */
export const JUNCTION_SYSCTLS: readonly RequiredSysctl[] = SUBSYSTEMS.flatMap((registered) => registered.sysctls ?? []);

/** Everything the subsystems ask of the firewall for this document, in apply order. */
export function firewallNeedsOf(subsystems: Subsystem[], config: Config, capabilities: Capabilities): FirewallNeeds {
  const needs = subsystems.map((s) => s.firewallNeeds?.(config, capabilities) ?? {});
  const tunnelOnly = needs.find((n) => n.tunnelOnly)?.tunnelOnly;
  return { selfServices: needs.flatMap((n) => n.selfServices ?? []), zoneMembers: needs.flatMap((n) => n.zoneMembers ?? []), ...(tunnelOnly ? { tunnelOnly } : {}) };
}
