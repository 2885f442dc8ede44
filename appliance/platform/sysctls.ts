// Reading and setting kernel settings through `sysctl` (procps), and saying
// plainly when that is impossible. In a container /proc/sys is read-only:
// the runtime sets sysctls when it creates the network namespace (compose
// `sysctls:`, a Pod's securityContext.sysctls), never the process inside.
// There a subsystem checks that the values are already what it needs, and
// otherwise fails naming the exact entries to add.
import { access, constants } from 'node:fs/promises';
import { runChecked, type CommandRunner } from './command-runner.js';

/** A sysctl a subsystem needs; the list compose.yaml and deploy/ are checked against is made of these. */
export interface RequiredSysctl {
  key: string;
  value: string;
  /** which subsystem sets it (bgp only while a bgp section exists) */
  owner: string;
  why: string;
  /**
   * Every one is per network namespace, but none is in Kubernetes' "safe"
   * set: a Pod may set it only where the kubelet allows it
   * (--allowed-unsafe-sysctls).
   */
  kubernetes: 'unsafe';
}

/** /proc/sys mounted read-only (a container): writing fails with EROFS, whatever the capabilities. */
export async function procSysReadOnly(probe = '/proc/sys/net/ipv4/ip_forward'): Promise<boolean> {
  try {
    await access(probe, constants.W_OK);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EROFS';
  }
}

export interface SysctlDifference {
  key: string;
  have: string;
  want: string;
}

/** The entries to add to the container's definition, in compose and in Kubernetes syntax. */
export function runtimeSysctlAdvice(differences: SysctlDifference[]): string {
  const compose = differences.map((d) => `${d.key}: "${d.want}"`).join(', ');
  const pod = differences.map((d) => `{name: ${d.key}, value: "${d.want}"}`).join(', ');
  const have = differences.map((d) => `${d.key} is ${d.have || '(unreadable)'}, needs ${d.want}`).join('; ');
  return (
    `/proc/sys is read-only here (a container), so Junction cannot set these sysctls: ${have}. ` +
    `Set them where the container is defined: compose \`sysctls: { ${compose} }\`; ` +
    `Kubernetes \`securityContext.sysctls: [${pod}]\` (unsafe sysctls: the node's kubelet must allow them with --allowed-unsafe-sysctls)`
  );
}

/** Reads and sets sysctls through `sysctl` (procps); read-only /proc/sys is a state, not a failure to hide. */
export class Sysctls {
  constructor(
    private readonly runner: CommandRunner,
    private readonly readOnly: () => Promise<boolean> = () => procSysReadOnly(),
  ) {}

  async read(key: string): Promise<string> {
    return (await this.runner.run('sysctl', ['-n', key])).stdout.trim();
  }

  async differences(desired: Readonly<Record<string, string>>): Promise<SysctlDifference[]> {
    const out: SysctlDifference[] = [];
    for (const [key, want] of Object.entries(desired)) {
      const have = await this.read(key);
      if (have !== want) out.push({ key, have, want });
    }
    return out;
  }

  /** Why `desired` cannot be reached here (read-only /proc/sys and a value differs), or undefined. */
  async unreachable(desired: Readonly<Record<string, string>>): Promise<string | undefined> {
    const differences = await this.differences(desired);
    if (!differences.length || !(await this.readOnly())) return undefined;
    return runtimeSysctlAdvice(differences);
  }

  /** Sets what differs; returns the actions done. Throws the advice when /proc/sys is read-only. */
  async ensure(desired: Readonly<Record<string, string>>): Promise<string[]> {
    const differences = await this.differences(desired);
    if (!differences.length) return [];
    if (await this.readOnly()) throw new Error(runtimeSysctlAdvice(differences));
    const actions: string[] = [];
    for (const { key, want } of differences) {
      await runChecked(this.runner, 'sysctl', ['-q', '-w', `${key}=${want}`]);
      actions.push(`sysctl -q -w ${key}=${want}`);
    }
    return actions;
  }
}
