// Assembles one appliance: store, capabilities, subsystems in their apply
// order, the reconciler and the status reader. `junction serve` and the
// tests build it the same way; only the CommandRunner differs.
import { Store } from '../core/store.js';
import { Reconciler } from '../core/reconciler.js';
import { StatusService } from '../core/status.js';
import { LinksSubsystem } from '../subsystems/links/index.js';
import { RoutesSubsystem } from '../subsystems/routes/index.js';
import { FirewallSubsystem } from '../subsystems/firewall/index.js';
import { VpnSubsystem } from '../subsystems/vpn/index.js';
import { BgpSubsystem } from '../subsystems/bgp/index.js';
import { SystemSubsystem } from '../subsystems/system/index.js';
import type { FirewallNeeds, Subsystem } from '../core/subsystem.js';
import type { Config } from '../model/schema.js';
import type { DhcpClients } from '../subsystems/links/dhcp-client.js';
import type { FirewallLog } from '../subsystems/firewall/log-reader.js';
import type { CommandRunner } from '../platform/command-runner.js';
import type { Capabilities } from '../platform/capabilities.js';
import type { Logger } from '../platform/log.js';

export interface Appliance {
  store: Store;
  reconciler: Reconciler;
  status: StatusService;
  subsystems: Subsystem[];
  /** the IPsec subsystem: status, initiate/terminate, events */
  vpn: VpnSubsystem;
  /** the BGP subsystem (bird): status, learned routes, neighbor resets */
  bgp: BgpSubsystem;
  close(): void;
}

export interface ApplianceOptions {
  stateDir: string;
  runner: CommandRunner;
  capabilities: Capabilities;
  log: Logger;
  apiPort?: number;
  /** the DHCP client manager (real processes); without it a dhcp interface cannot be applied */
  dhcpClients?: DhcpClients;
  /** the NFLOG reader (a real process); without it, logging rules log nowhere readable */
  firewallLog?: FirewallLog;
}

/** Everything the subsystems ask of the firewall for this document, in apply order. */
function firewallNeeds(subsystems: Subsystem[], config: Config, capabilities: Capabilities): FirewallNeeds {
  const needs = subsystems.map((s) => s.firewallNeeds?.(config, capabilities) ?? {});
  const tunnelOnly = needs.find((n) => n.tunnelOnly)?.tunnelOnly;
  return { selfServices: needs.flatMap((n) => n.selfServices ?? []), zoneMembers: needs.flatMap((n) => n.zoneMembers ?? []), ...(tunnelOnly ? { tunnelOnly } : {}) };
}

export function createAppliance(options: ApplianceOptions): Appliance {
  const store = new Store(options.stateDir);
  // Apply order: links before routes (next hops need addresses), the VPN
  // once addresses exist, firewall last.
  const vpn = new VpnSubsystem({ runner: options.runner, stateDir: options.stateDir, log: options.log });
  // BGP after links and routes: sessions on the dx links need their
  // addresses, and bird's kernel routes (proto bird, metric 2000) sit beside
  // the static ones (proto 77) without replacing them. Before the firewall,
  // which stays last: it opens TCP 179 and BFD (self-services) from the same
  // document, and if its apply fails bird is rolled back with the rest.
  const bgp = new BgpSubsystem({ runner: options.runner, stateDir: options.stateDir, log: options.log, tcpMd5: () => options.capabilities.tcpMd5 });
  const subsystems: Subsystem[] = [
    new SystemSubsystem(options.runner),
    new LinksSubsystem(options.runner, options.dhcpClients),
    new RoutesSubsystem(options.runner),
    vpn,
    bgp,
    new FirewallSubsystem(options.runner, options.stateDir, () => options.apiPort, options.firewallLog, (config, capabilities) => firewallNeeds(subsystems, config, capabilities)),
  ];
  const reconciler = new Reconciler(store, subsystems, options.capabilities, options.log);
  const status = new StatusService(subsystems, () => ({
    config: reconciler.currentConfig(),
    revision: store.currentRevisionId(),
    capabilities: options.capabilities,
    reconcile: reconciler.lastReconcile,
  }));
  return { store, reconciler, status, subsystems, vpn, bgp, close: () => {
      reconciler.close();
      store.close();
    },
  };
}
