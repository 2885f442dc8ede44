// The fail-closed table's text and when it is installed: whenever Junction's
// table is absent at start, removed once boot has applied a stored revision
// or at the first commit, kept while the firewall could not be applied.
import { describe, expect, it } from 'vitest';
import { FAIL_CLOSED_TABLE, failClosedUntilApplied, renderFailClosed } from '../../../appliance/subsystems/firewall/fail-closed.js';
import { RecordingCommandRunner } from '../../support/recording-runner.js';
import { memoryLogger } from '../../support/memory-logger.js';

const missing = { code: 1, stderr: 'Error: No such file or directory; did you mean table ...' };

function events() {
  const listeners: Array<() => void> = [];
  return { onCommitted: (l: () => void) => listeners.push(l), fire: () => listeners.forEach((l) => l()), listeners };
}

const deletes = (runner: RecordingCommandRunner) => runner.transcript().filter((l) => l.startsWith('nft delete'));

describe('renderFailClosed', () => {
  it('drops forwarding and admits only loopback, established, neighbour discovery and the API port', () => {
    const text = renderFailClosed(8080);
    expect(text).toMatch(/chain forward \{\n\s+type filter hook forward priority filter - 10; policy drop;\n\s+\}/);
    expect(text).toMatch(/hook input priority filter - 10; policy drop;/);
    const inputRules = text.split('chain input {')[1].split('chain forward')[0];
    expect(inputRules).toContain('tcp dport 8080 accept');
    expect(inputRules).toContain('ct state established,related accept');
    expect(inputRules).toContain('iifname "lo" accept');
    expect(inputRules.match(/accept/g)).toHaveLength(4);
    // one transaction that replaces any earlier copy
    expect(text.startsWith(`table inet ${FAIL_CLOSED_TABLE} {}\ndelete table inet ${FAIL_CLOSED_TABLE}\n`)).toBe(true);
  });

  it('refuses a port that is not a TCP port', () => {
    expect(() => renderFailClosed(0)).toThrow(/not a TCP port/);
    expect(() => renderFailClosed(70000)).toThrow(/not a TCP port/);
  });
});

describe('failClosedUntilApplied', () => {
  it('installs when Junction\'s table is absent, and removes it once at the first commit', async () => {
    const runner = new RecordingCommandRunner().on((c) => c.args[0] === 'list', () => missing);
    const reconciler = events();
    expect((await failClosedUntilApplied(runner, reconciler, 8080, memoryLogger())).installed).toBe(true);
    expect(runner.transcript()).toEqual(['nft list table inet junction', 'nft -f -']);
    expect(runner.commands[1].input).toBe(renderFailClosed(8080));
    reconciler.fire();
    reconciler.fire();
    await new Promise((r) => setImmediate(r));
    expect(deletes(runner)).toEqual([`nft delete table inet ${FAIL_CLOSED_TABLE}`]);
  });

  it('after a reboot (a stored revision, no table in the kernel) it holds until boot has applied the revision', async () => {
    const runner = new RecordingCommandRunner().on((c) => c.args[0] === 'list', () => missing);
    const guard = await failClosedUntilApplied(runner, events(), 8080, memoryLogger());
    expect(guard.installed).toBe(true);
    await guard.afterBoot({ revision: null, errors: {} });
    expect(deletes(runner)).toEqual([]);
    await guard.afterBoot({ revision: 7, errors: {} });
    expect(deletes(runner)).toEqual([`nft delete table inet ${FAIL_CLOSED_TABLE}`]);
  });

  it('stays when boot could not apply the firewall', async () => {
    const runner = new RecordingCommandRunner().on((c) => c.args[0] === 'list', () => missing);
    const log = memoryLogger();
    const guard = await failClosedUntilApplied(runner, events(), 8080, log);
    await guard.afterBoot({ revision: 7, errors: { firewall: 'nft apply failed' } });
    expect(deletes(runner)).toEqual([]);
    expect(log.lines.join('\n')).toMatch(/forwarding stays dropped/);
  });

  it('leaves a running ruleset alone on a restart (Junction table present)', async () => {
    const runner = new RecordingCommandRunner().on((c) => c.args.includes(FAIL_CLOSED_TABLE), () => missing);
    const reconciler = events();
    const guard = await failClosedUntilApplied(runner, reconciler, 8080, memoryLogger());
    expect(guard.installed).toBe(false);
    await guard.afterBoot({ revision: 7, errors: {} });
    expect(runner.transcript()).toEqual(['nft list table inet junction', `nft list table inet ${FAIL_CLOSED_TABLE}`]);
    expect(reconciler.listeners).toHaveLength(0);
  });

  it('drops a leftover fail-closed table when Junction\'s table is in place', async () => {
    const runner = new RecordingCommandRunner();
    expect((await failClosedUntilApplied(runner, events(), 8080, memoryLogger())).installed).toBe(false);
    expect(runner.transcript()).toEqual(['nft list table inet junction', `nft list table inet ${FAIL_CLOSED_TABLE}`, `nft delete table inet ${FAIL_CLOSED_TABLE}`]);
  });

  it('fails serve start when nft cannot say whether the table exists', async () => {
    const runner = new RecordingCommandRunner().on(() => true, () => ({ code: 1, stderr: 'Error: Operation not permitted' }));
    await expect(failClosedUntilApplied(runner, events(), 8080, memoryLogger())).rejects.toThrow(/Operation not permitted/);
  });
});
