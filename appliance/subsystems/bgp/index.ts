// The BGP subsystem as the composition root registers it: one object that
// is the Subsystem (verify, render, describe, snapshot, drift, apply, confirm)
// and the API's BgpControl (status, learned routes, resets). Each job lives
// in its own file: schema.ts (the section's shape), verify.ts, render.ts
// (bird.conf and the sysctl, and their plan lines), config.ts (bird's
// lifecycle, apply and drift), status.ts (neighbor state, MD5 counters),
// control.ts (resets, routes, bird's errors mapped); the bird-*.ts files
// and reply-codes.ts/routes.ts are the protocol client.
import type { Config } from '../../model/schema.js';
import { BgpSection } from './schema.js';
import type { Problem } from '../../model/problems.js';
import type { Capabilities } from '../../platform/capabilities.js';
import type { ApplyOptions, FirewallNeeds, Subsystem } from '../../core/subsystem.js';
import { bgpSelfServices } from './self-services.js';
import { BgpConfiguration, type BgpConfigurationOptions } from './config.js';
import { BgpActions, mapped, type BgpControl } from './control.js';
import { describeBgp, renderBgp, type BgpArtifact } from './render.js';
import type { LearnedRoute, RouteQuery } from './routes.js';
import { BgpMetrics } from './metrics.js';
import type { MetricFamily } from '../../core/metric-samples.js';
import { BgpState, type BgpStateOptions, type BgpStatus } from './status.js';
import { verifyBgpConfig } from './verify.js';

export type { BgpArtifact } from './render.js';
export type { BgpControl } from './control.js';
export type { BgpStatus, BgpNeighborReport } from './status.js';
export type { BirdDaemon } from './config.js';

export type BgpSubsystemOptions = BgpConfigurationOptions & BgpStateOptions;

export class BgpSubsystem implements Subsystem<BgpArtifact>, BgpControl {
  readonly name = 'bgp';
  readonly schemaSection = { key: 'bgp', schema: BgpSection };
  firewallNeeds(config: Config): FirewallNeeds {
    return { selfServices: bgpSelfServices(config) };
  }
  private readonly configuration: BgpConfiguration;
  private readonly state: BgpState;
  private readonly actions: BgpActions;
  private readonly metricsState = new BgpMetrics();

  constructor(options: BgpSubsystemOptions) {
    this.configuration = new BgpConfiguration(options);
    this.state = new BgpState(this.configuration, options);
    this.actions = new BgpActions(this.configuration);
  }

  verify(config: Config, capabilities: Capabilities): Problem[] {
    return verifyBgpConfig(config, capabilities);
  }

  render(config: Config): BgpArtifact {
    return renderBgp(config);
  }

  describe(artifact: BgpArtifact): string[] {
    return describeBgp(artifact);
  }

  snapshot(desired: BgpArtifact): Promise<BgpArtifact> {
    return this.configuration.snapshot(desired);
  }

  drift(desired: BgpArtifact): Promise<string[]> {
    return this.configuration.drift(desired);
  }

  apply(desired: BgpArtifact, options?: ApplyOptions): Promise<string[]> {
    return this.configuration.apply(desired, options);
  }

  confirm(): Promise<void> {
    return this.configuration.confirm();
  }

  /** Stops bird (a full stop: `junction down`). */
  close(): Promise<void> {
    return this.configuration.close();
  }

  /** Junction's clean stop: bird keeps its sessions and routes for the next Junction to adopt. */
  detach(): Promise<void> {
    return this.configuration.detach();
  }

  status(): Promise<BgpStatus> {
    return mapped(() => this.state.status());
  }

  async metrics(): Promise<MetricFamily[]> {
    return this.metricsState.families(await this.state.status());
  }

  routes(query: RouteQuery & { limit?: number }): Promise<LearnedRoute[]> {
    return this.actions.routes(query);
  }

  reset(id: string): Promise<string> {
    return this.actions.reset(id);
  }

  softReset(id: string, direction?: 'in' | 'out'): Promise<string> {
    return this.actions.softReset(id, direction);
  }
}
