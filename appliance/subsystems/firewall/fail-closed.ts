// Fail closed until a revision is in the kernel. A container runtime (or a
// sysctl left by the image) turns forwarding on before Junction has a
// ruleset, so without this a fresh appliance routes everything unfiltered
// until the first commit, again after a failed first apply (its rollback
// removes Junction's table), and after a reboot until boot has applied the
// stored revision. At serve start, when Junction's own table is absent, a
// separate table drops all forwarding and admits only loopback,
// established/related traffic, IPv6 neighbour discovery and the API port.
// It is a table of its own so that the firewall subsystem's content
// comparisons never see it. It goes once boot has applied a stored revision
// without a firewall error, or at the first revision that commits (the
// reconciler's committed event). With Junction's table present (a restart
// over a running revision) nothing is touched: restarts stay hitless.
import { TABLE } from '../../../rules/index.js';
import { runChecked, type CommandRunner } from '../../platform/command-runner.js';
import type { Logger } from '../../platform/log.js';

export const FAIL_CLOSED_TABLE = 'junction_fail_closed';

/** The whole fail-closed table as one nft script: re-installing it replaces it atomically. */
export function renderFailClosed(apiPort: number): string {
  if (!Number.isInteger(apiPort) || apiPort < 1 || apiPort > 65535) throw new Error(`API port ${apiPort} is not a TCP port`);
  return [
    // declare, delete and re-create: one transaction whether or not it existed
    `table inet ${FAIL_CLOSED_TABLE} {}`,
    `delete table inet ${FAIL_CLOSED_TABLE}`,
    `table inet ${FAIL_CLOSED_TABLE} {`,
    '  chain input {',
    '    type filter hook input priority filter - 10; policy drop;',
    '    iifname "lo" accept',
    '    ct state established,related accept',
    // without neighbour discovery no IPv6 address on the host answers at all
    '    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept',
    `    tcp dport ${apiPort} accept`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter - 10; policy drop;',
    '  }',
    '}',
    '',
  ].join('\n');
}

/** The parts of the reconciler this needs: the committed event. */
export interface RevisionEvents {
  onCommitted(listener: () => void): void;
}

/** What boot reported: the revision it applied and the subsystems that failed. */
export interface BootOutcome {
  revision: number | null;
  errors: Record<string, string>;
}

export interface FailClosedGuard {
  /** whether the fail-closed table was installed at start */
  readonly installed: boolean;
  /** Boot applied the stored revision: the table goes unless the firewall failed. */
  afterBoot(boot: BootOutcome): Promise<void>;
}

async function tableExists(runner: CommandRunner, name: string): Promise<boolean> {
  const result = await runner.run('nft', ['list', 'table', 'inet', name]);
  if (result.code === 0) return true;
  if (/No such file or directory/.test(result.stderr)) return false;
  throw new Error(`nft list table inet ${name} failed: ${result.stderr.trim().split('\n')[0]}`);
}

/**
 * Installs the fail-closed table when Junction's table is absent, and
 * removes it once a revision is in the kernel (after boot, or at the first
 * commit). With Junction's table present, only a leftover is removed.
 */
export async function failClosedUntilApplied(runner: CommandRunner, reconciler: RevisionEvents, apiPort: number, log: Logger): Promise<FailClosedGuard> {
  if (await tableExists(runner, TABLE)) {
    // A leftover from a start that never committed must not outlive a revision.
    if (await tableExists(runner, FAIL_CLOSED_TABLE)) await runChecked(runner, 'nft', ['delete', 'table', 'inet', FAIL_CLOSED_TABLE]);
    return { installed: false, afterBoot: async () => undefined };
  }
  await runChecked(runner, 'nft', ['-f', '-'], { input: renderFailClosed(apiPort) });
  log.warn('no revision in the kernel yet: forwarding is dropped and only the API is open until one is applied', { table: `inet ${FAIL_CLOSED_TABLE}`, apiPort });
  let released = false;
  const release = async (why: string) => {
    if (released) return;
    released = true;
    try {
      await runChecked(runner, 'nft', ['delete', 'table', 'inet', FAIL_CLOSED_TABLE]);
      log.info(`${why}: the fail-closed table is removed`);
    } catch (error) {
      log.error('could not remove the fail-closed table: forwarding stays dropped', { error: (error as Error).message });
    }
  };
  reconciler.onCommitted(() => void release('a revision was committed'));
  return {
    installed: true,
    afterBoot: async (boot) => {
      if (boot.revision === null) return;
      if (boot.errors.firewall) {
        log.error('boot could not apply the firewall: forwarding stays dropped until a commit applies', { revision: boot.revision, error: boot.errors.firewall });
        return;
      }
      await release(`boot applied revision ${boot.revision}`);
    },
  };
}
