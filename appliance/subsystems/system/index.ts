// System settings of the appliance itself; today the hostname. The kernel
// hostname of Junction's UTS namespace is set with `hostname NAME` (not
// /etc/hostname, which a container runtime owns), and only where Junction
// owns that namespace (uts.ts); elsewhere the commit carries a warning and
// the plan says it is not applied.
import type { Config } from '../../model/schema.js';
import type { Problem } from '../../model/problems.js';
import { ApplyFailed, type Subsystem } from '../../core/subsystem.js';
import type { CommandRunner } from '../../platform/command-runner.js';
import { probeHostnameOwnership, type HostnameOwnership } from './uts.js';

export interface SystemArtifact {
  /** undefined: Junction leaves the hostname alone */
  hostname?: string;
  /** false: the hostname is wanted but Junction may not set it here */
  applied: boolean;
}

// RFC 1123 labels: letters, digits and inner hyphens, dot-separated.
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/;

export class SystemSubsystem implements Subsystem<SystemArtifact> {
  readonly name = 'system';

  constructor(
    private readonly runner: CommandRunner,
    private readonly ownership: HostnameOwnership = probeHostnameOwnership(),
  ) {}

  verify(config: Config): Problem[] {
    const hostname = config.system?.hostname;
    if (hostname === undefined) return [];
    if (!hostname.split('.').every((label) => LABEL.test(label))) {
      return [{ path: '/system/hostname', message: `"${hostname}" is not a hostname: dot-separated labels of letters, digits and inner hyphens` }];
    }
    if (!this.ownership.settable) return [{ path: '/system/hostname', message: `not applied: ${this.ownership.reason}`, severity: 'warning' }];
    return [];
  }

  render(config: Config): SystemArtifact {
    const hostname = config.system?.hostname;
    return hostname === undefined ? { applied: false } : { hostname, applied: this.ownership.settable };
  }

  describe(artifact: SystemArtifact): string[] {
    if (artifact.hostname === undefined) return [];
    return [artifact.applied ? `hostname ${artifact.hostname}` : `hostname ${artifact.hostname} (not applied: Junction does not own its UTS namespace)`];
  }

  /** The kernel's hostname, the configured one, and why it is not applied when it is not. */
  async statusReport(config: Config | undefined): Promise<Record<string, unknown>> {
    const running = await this.runner.run('hostname', []);
    const wanted = config?.system?.hostname;
    return {
      system: {
        hostname: running.code === 0 ? running.stdout.trim() : null,
        ...(wanted !== undefined ? { configured_hostname: wanted } : {}),
        hostname_settable: this.ownership.settable,
        ...(this.ownership.settable ? {} : { hostname_not_applied_because: this.ownership.reason }),
      },
    };
  }

  private async current(): Promise<string> {
    const result = await this.runner.run('hostname', []);
    if (result.code !== 0) throw new ApplyFailed(this.name, `cannot read the hostname: ${result.stderr.trim() || `exit ${result.code}`}`, '/system/hostname');
    return result.stdout.trim();
  }

  async snapshot(desired: SystemArtifact): Promise<SystemArtifact> {
    if (!desired.applied) return { applied: false };
    return { hostname: await this.current(), applied: true };
  }

  async drift(desired: SystemArtifact): Promise<string[]> {
    if (!desired.applied || desired.hostname === undefined) return [];
    const running = await this.current();
    return running === desired.hostname ? [] : [`hostname is "${running}", want "${desired.hostname}"`];
  }

  async apply(desired: SystemArtifact): Promise<string[]> {
    if ((await this.drift(desired)).length === 0) return [];
    const result = await this.runner.run('hostname', [desired.hostname!]);
    if (result.code !== 0) throw new ApplyFailed(this.name, `hostname ${desired.hostname} failed: ${result.stderr.trim() || `exit ${result.code}`}`, '/system/hostname');
    return [`hostname ${desired.hostname}`];
  }
}
