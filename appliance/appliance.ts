// Assembles one appliance: store, capabilities, drivers in their apply
// order, the reconciler and the status reader. `junction serve` and the
// tests build it the same way; only the CommandRunner differs.
import { Store } from './store/store.js';
import { Reconciler } from './reconciler.js';
import { StatusService } from './status.js';
import { LinksDriver } from './drivers/links.js';
import { RoutesDriver } from './drivers/routes.js';
import { FirewallDriver } from './drivers/firewall.js';
import { VpnDriver } from './vpn/driver.js';
import type { Driver } from './drivers/driver.js';
import type { DhcpClients } from './drivers/dhcp-client.js';
import type { FirewallLog } from './drivers/firewall-log.js';
import type { CommandRunner } from './exec/command-runner.js';
import type { Capabilities } from './platform/capabilities.js';
import type { Logger } from './log.js';

export interface Appliance {
  store: Store;
  reconciler: Reconciler;
  status: StatusService;
  drivers: Driver[];
  /** the IPsec subsystem: status, initiate/terminate, events */
  vpn: VpnDriver;
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

export function createAppliance(options: ApplianceOptions): Appliance {
  const store = new Store(options.stateDir);
  // Apply order: links before routes (next hops need addresses), the VPN
  // once addresses exist, firewall last.
  const vpn = new VpnDriver({ runner: options.runner, stateDir: options.stateDir, log: options.log });
  const drivers: Driver[] = [
    new LinksDriver(options.runner, options.dhcpClients),
    new RoutesDriver(options.runner),
    vpn,
    new FirewallDriver(options.runner, options.stateDir, () => options.apiPort, options.firewallLog),
  ];
  const reconciler = new Reconciler(store, drivers, options.capabilities, options.log);
  const status = new StatusService(options.runner, () => ({
    config: reconciler.currentConfig(),
    revision: store.currentRevisionId(),
    capabilities: options.capabilities,
    reconcile: reconciler.lastReconcile,
    dhcpLease: (iface: string) => options.dhcpClients?.lease(iface),
  }));
  return { store, reconciler, status, drivers, vpn, close: () => {
      reconciler.close();
      store.close();
    },
  };
}
