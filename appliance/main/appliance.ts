// Assembles one appliance: the store, the subsystems (main/subsystems.ts,
// in their apply order), the reconciler and the status reader. `junction
// serve` and the tests build it the same way; only the CommandRunner
// differs.
import { Store } from '../core/store.js';
import { Reconciler } from '../core/reconciler.js';
import { StatusService } from '../core/status.js';
import { MetricsService } from '../core/metrics.js';
import { junctionVersion } from './build-info.js';
import { VpnSubsystem } from '../subsystems/vpn/index.js';
import { BgpSubsystem } from '../subsystems/bgp/index.js';
import { DhcpSubsystem } from '../subsystems/dhcp/index.js';
import type { Subsystem } from '../core/subsystem.js';
import { SUBSYSTEMS, firewallNeedsOf } from './subsystems.js';
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
  /** GET /metrics: the subsystems' metrics and the commits', cached */
  metrics: MetricsService;
  subsystems: Subsystem[];
  /** the IPsec subsystem: status, initiate/terminate, events */
  vpn: VpnSubsystem;
  /** the BGP subsystem (bird): status, learned routes, neighbor resets */
  bgp: BgpSubsystem;
  /** the DHCP subsystem (dnsmasq): leases */
  dhcp: DhcpSubsystem;
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
  /** how long GET /metrics reuses a reading of the kernel and daemons (default DEFAULT_METRICS_MAX_AGE_S) */
  metricsMaxAgeS?: number;
}

export function createAppliance(options: ApplianceOptions): Appliance {
  const store = new Store(options.stateDir);
  const subsystems: Subsystem[] = [];
  const firewallNeeds = (config: Config, capabilities: Capabilities) => firewallNeedsOf(subsystems, config, capabilities);
  subsystems.push(...SUBSYSTEMS.map((registered) => registered.create({ ...options, firewallNeeds })));
  const vpn = only(subsystems, VpnSubsystem);
  const bgp = only(subsystems, BgpSubsystem);
  const dhcp = only(subsystems, DhcpSubsystem);
  const reconciler = new Reconciler(store, subsystems, options.capabilities, options.log);
  const status = new StatusService(subsystems, () => ({
    // with kernel interface names, as the subsystems rendered it (the stored document until one is applied)
    config: reconciler.runningConfig() ?? reconciler.currentConfig(),
    revision: store.currentRevisionId(),
    capabilities: options.capabilities,
    reconcile: reconciler.lastReconcile,
  }));
  const metrics = new MetricsService(subsystems, () => ({
    config: reconciler.currentConfig(),
    revision: store.currentRevisionId(),
    pendingConfirm: reconciler.pendingConfirm() !== undefined,
  }), { maxAgeS: options.metricsMaxAgeS, build: { version: junctionVersion() }, log: options.log });
  reconciler.onCommitAttempt((attempt) => metrics.noteCommit(attempt));
  return { store, reconciler, status, metrics, subsystems, vpn, bgp, dhcp, close: () => {
      reconciler.close();
      store.close();
    },
  };
}

/** The one subsystem of this class in the list (the API talks to vpn, bgp and dhcp directly). */
function only<T extends Subsystem>(subsystems: Subsystem[], kind: new (...args: never[]) => T): T {
  const found = subsystems.filter((s): s is T => s instanceof kind);
  if (found.length !== 1) throw new Error(`expected one ${kind.name} among the subsystems, found ${found.length}`);
  return found[0]!;
}
