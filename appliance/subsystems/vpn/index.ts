// The VPN subsystem as the composition root registers it: one object that
// is the Subsystem (verify, render, describe, snapshot, drift, apply) and the
// API's VpnControl (status, initiate/terminate, events). Each job lives in
// its own file: schema.ts (the section's shape and defaults), verify.ts,
// render.ts (the VICI messages and their plan lines), config.ts (loading
// and drift), charon.ts (charon's lifecycle), sa-hygiene.ts (outdated SAs,
// always-on tunnels), liveness-probe.ts (stalled tunnels' IKE_SAs probed),
// kernel-path.ts (xfrm0 and its routes), loaded-conns.ts (charon's
// list-conns by content), status.ts (status, events), control.ts
// (initiate/terminate, charon's errors mapped); vici/ is the protocol client.
import type { Config } from '../../model/schema.js';
import { VpnSection } from './schema.js';
import type { Problem } from '../../model/problems.js';
import type { Capabilities } from '../../platform/capabilities.js';
import type { FirewallNeeds, Subsystem } from '../../core/subsystem.js';
import { ikeSelfServices } from './self-services.js';
import { VpnConfiguration, type VpnConfigurationOptions } from './config.js';
import { VpnActions, type VpnControl } from './control.js';
import { describeVpn, renderVpn, vpnTunnelOnly, vpnZoneMembers, type VpnArtifact } from './render.js';
import { vpnStatus, type VpnEvent, type VpnStatus } from './status.js';
import { verifyVpn } from './verify.js';
import { VpnMetrics } from './metrics.js';
import type { MetricFamily } from '../../core/metric-samples.js';

export type { VpnArtifact } from './render.js';
export type { VpnControl } from './control.js';
export type { VpnEvent, VpnStatus } from './status.js';

export type VpnSubsystemOptions = VpnConfigurationOptions;

export class VpnSubsystem implements Subsystem<VpnArtifact>, VpnControl {
  readonly name = 'vpn';
  readonly schemaSection = { key: 'vpn', schema: VpnSection };
  /** IKE and ESP to the router, the tunnel interface in vpn.zone, and the remote subnets that may only leave through it */
  firewallNeeds(config: Config, capabilities: Capabilities): FirewallNeeds {
    const tunnelOnly = vpnTunnelOnly(config, capabilities);
    return { selfServices: ikeSelfServices(config), zoneMembers: vpnZoneMembers(config, capabilities), ...(tunnelOnly ? { tunnelOnly } : {}) };
  }
  private readonly configuration: VpnConfiguration;
  private readonly actions: VpnActions;
  private readonly metricsState = new VpnMetrics();

  constructor(options: VpnSubsystemOptions) {
    this.configuration = new VpnConfiguration(options);
    this.actions = new VpnActions(this.configuration.charon, () => this.configuration.applied);
    this.configuration.events.onEvent((event) => this.metricsState.noteEvent(event));
  }

  verify(config: Config, capabilities: Capabilities): Problem[] {
    return verifyVpn(config, capabilities);
  }

  render(config: Config, capabilities: Capabilities): VpnArtifact {
    return renderVpn(config, capabilities);
  }

  describe(artifact: VpnArtifact): string[] {
    return describeVpn(artifact);
  }

  snapshot(): Promise<VpnArtifact> {
    return this.configuration.snapshot();
  }

  drift(desired: VpnArtifact): Promise<string[]> {
    return this.configuration.drift(desired);
  }

  apply(desired: VpnArtifact): Promise<string[]> {
    return this.configuration.apply(desired);
  }

  /** Stops charon and the event stream (a full stop: `junction down`). */
  close(): Promise<void> {
    return this.configuration.close();
  }

  /** Junction's clean stop: charon and its SAs keep running for the next Junction to adopt. */
  detach(): Promise<void> {
    return this.configuration.detach();
  }

  status(): Promise<VpnStatus> {
    return vpnStatus(this.configuration.applied, this.configuration.charon, this.configuration.events, this.configuration.probe);
  }

  async metrics(): Promise<MetricFamily[]> {
    return this.metricsState.families(await this.status());
  }

  initiate(peer: string, tunnel: string, timeoutMs?: number): Promise<boolean> {
    return this.actions.initiate(peer, tunnel, timeoutMs);
  }

  terminate(peer: string, tunnel: string, timeoutMs?: number): Promise<number> {
    return this.actions.terminate(peer, tunnel, timeoutMs);
  }

  onEvent(listener: (event: VpnEvent) => void): () => void {
    return this.configuration.events.onEvent(listener);
  }
}
