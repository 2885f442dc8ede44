// The DHCP subsystem as the composition root registers it: DHCP and a DNS
// forwarder for VPC hosts, served by one dnsmasq. One object that is the
// Subsystem (verify, render, describe, snapshot, drift, apply, status,
// firewallNeeds) and the API's DhcpControl (leases). Each job lives in its
// own file: schema.ts (the section's shape), verify.ts, render.ts
// (dnsmasq.conf and its plan lines), config.ts (dnsmasq's lifecycle, apply
// and drift), dnsmasq-process.ts (its command line under the Supervisor),
// status.ts and leases.ts (the lease file), self-services.ts (DHCP and DNS
// opened on the served interfaces only), requirements.ts (dnsmasq).
import type { Config } from '../../model/schema.js';
import type { Problem } from '../../model/problems.js';
import type { FirewallNeeds, Subsystem } from '../../core/subsystem.js';
import { DhcpSection } from './schema.js';
import { DhcpConfiguration, type DhcpConfigurationOptions } from './config.js';
import { describeDhcp, renderDhcp, type DhcpArtifact } from './render.js';
import { dhcpSelfServices } from './self-services.js';
import { dhcpStatus, readLeases, type DhcpStatus } from './status.js';
import type { DhcpLease } from './leases.js';
import { dhcpFamilies } from './metrics.js';
import type { MetricFamily } from '../../core/metric-samples.js';
import { verifyDhcpConfig } from './verify.js';

export type { DhcpArtifact } from './render.js';
export type { DhcpLease } from './leases.js';
export type { DhcpStatus } from './status.js';

/** What the API asks of the DHCP subsystem beyond the document. */
export interface DhcpControl {
  /** the leases in dnsmasq's lease file, optionally of one interface */
  leases(iface?: string): Promise<DhcpLease[]>;
}

export class DhcpSubsystem implements Subsystem<DhcpArtifact>, DhcpControl {
  readonly name = 'dhcp';
  readonly schemaSection = { key: 'dhcp', schema: DhcpSection };
  private readonly configuration: DhcpConfiguration;

  constructor(options: DhcpConfigurationOptions) {
    this.configuration = new DhcpConfiguration(options);
  }

  firewallNeeds(config: Config): FirewallNeeds {
    return { selfServices: dhcpSelfServices(renderDhcp(config)) };
  }

  verify(config: Config): Problem[] {
    return verifyDhcpConfig(config);
  }

  render(config: Config): DhcpArtifact {
    return renderDhcp(config);
  }

  describe(artifact: DhcpArtifact): string[] {
    return describeDhcp(artifact);
  }

  snapshot(): Promise<DhcpArtifact> {
    return this.configuration.snapshot();
  }

  drift(desired: DhcpArtifact): Promise<string[]> {
    return this.configuration.drift(desired);
  }

  apply(desired: DhcpArtifact): Promise<string[]> {
    return this.configuration.apply(desired);
  }

  async statusReport(config: Config | undefined): Promise<Record<string, unknown>> {
    if (!config?.dhcp && !this.configuration.dnsmasq?.pid) return {};
    return { dhcp: await this.status() };
  }

  async metrics(config: Config | undefined): Promise<MetricFamily[]> {
    if (!config?.dhcp && !this.configuration.dnsmasq?.pid) return [];
    return dhcpFamilies(config, await this.status());
  }

  status(): Promise<DhcpStatus> {
    return dhcpStatus(this.configuration);
  }

  async leases(iface?: string): Promise<DhcpLease[]> {
    const { leases } = await readLeases(this.configuration);
    return iface === undefined ? leases : leases.filter((l) => l.interface === iface);
  }

  /** Stops dnsmasq (a full stop: `junction down`). */
  close(): Promise<void> {
    return this.configuration.close();
  }

  /** Junction's clean stop: dnsmasq keeps serving for the next Junction to adopt. */
  detach(): Promise<void> {
    return this.configuration.detach();
  }
}
