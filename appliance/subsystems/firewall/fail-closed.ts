// Fail closed before the first revision. A container runtime (or a sysctl
// left by the image) turns forwarding on before Junction has a ruleset, so
// without this a fresh appliance routes everything unfiltered until the first
// commit, and again after a failed first apply (its rollback removes
// Junction's table). At serve start, when Junction's own table is absent,
// a separate table drops all forwarding and admits only loopback,
// established/related traffic, IPv6 neighbour discovery and the API port.
// It is a table of its own so that the firewall subsystem's content
// comparisons never see it, and it goes at the first revision that commits
// (the reconciler's committed event). With Junction's table present (a
// restart over a running revision) nothing is touched: restarts stay hitless.
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

/** The parts of the reconciler this needs: whether a revision is stored, and its committed event. */
export interface RevisionEvents {
  currentConfig(): unknown;
  onCommitted(listener: () => void): void;
}

async function tableExists(runner: CommandRunner, name: string): Promise<boolean> {
  const result = await runner.run('nft', ['list', 'table', 'inet', name]);
  if (result.code === 0) return true;
  if (/No such file or directory/.test(result.stderr)) return false;
  throw new Error(`nft list table inet ${name} failed: ${result.stderr.trim().split('\n')[0]}`);
}

/**
 * Installs the fail-closed table when there is no revision and no Junction
 * table, and removes it once a revision commits. Returns whether it installed.
 * With a stored revision, boot applies that revision's own ruleset next.
 */
export async function failClosedUntilFirstRevision(runner: CommandRunner, reconciler: RevisionEvents, apiPort: number, log: Logger): Promise<boolean> {
  if (reconciler.currentConfig() !== undefined || (await tableExists(runner, TABLE))) {
    // A leftover from a start that never committed must not outlive a revision.
    if (await tableExists(runner, FAIL_CLOSED_TABLE)) await runChecked(runner, 'nft', ['delete', 'table', 'inet', FAIL_CLOSED_TABLE]);
    return false;
  }
  await runChecked(runner, 'nft', ['-f', '-'], { input: renderFailClosed(apiPort) });
  log.warn('no revision yet: forwarding is dropped and only the API is open until the first commit', { table: `inet ${FAIL_CLOSED_TABLE}`, apiPort });
  let released = false;
  reconciler.onCommitted(() => {
    if (released) return;
    released = true;
    runChecked(runner, 'nft', ['delete', 'table', 'inet', FAIL_CLOSED_TABLE]).then(
      () => log.info('first revision applied: the fail-closed table is removed'),
      (error: Error) => log.error('could not remove the fail-closed table: forwarding stays dropped', { error: error.message }),
    );
  });
  return true;
}
