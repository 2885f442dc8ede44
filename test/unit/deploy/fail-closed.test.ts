// The fail-closed table's text and when it is installed: only with no
// revision and no Junction table, removed once at the first commit.
import { describe, expect, it } from 'vitest';
import { FAIL_CLOSED_TABLE, failClosedUntilFirstRevision, renderFailClosed } from '../../../appliance/subsystems/firewall/fail-closed.js';
import { RecordingCommandRunner } from '../../support/recording-runner.js';
import { memoryLogger } from '../../support/memory-logger.js';

const missing = { code: 1, stderr: 'Error: No such file or directory; did you mean table ...' };

function events(current: unknown) {
  const listeners: Array<() => void> = [];
  return { currentConfig: () => current, onCommitted: (l: () => void) => listeners.push(l), fire: () => listeners.forEach((l) => l()), listeners };
}

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

describe('failClosedUntilFirstRevision', () => {
  it('installs with no revision and no Junction table, and removes it once at the first commit', async () => {
    const runner = new RecordingCommandRunner().on((c) => c.args[0] === 'list', () => missing);
    const reconciler = events(undefined);
    expect(await failClosedUntilFirstRevision(runner, reconciler, 8080, memoryLogger())).toBe(true);
    expect(runner.transcript()).toEqual(['nft list table inet junction', 'nft -f -']);
    expect(runner.commands[1].input).toBe(renderFailClosed(8080));
    reconciler.fire();
    reconciler.fire();
    await new Promise((r) => setImmediate(r));
    expect(runner.transcript().filter((l) => l.startsWith('nft delete'))).toEqual([`nft delete table inet ${FAIL_CLOSED_TABLE}`]);
  });

  it('leaves a running ruleset alone on a restart (Junction table present)', async () => {
    const runner = new RecordingCommandRunner().on((c) => c.args.includes(FAIL_CLOSED_TABLE), () => missing);
    const reconciler = events(undefined);
    expect(await failClosedUntilFirstRevision(runner, reconciler, 8080, memoryLogger())).toBe(false);
    expect(runner.transcript()).toEqual(['nft list table inet junction', `nft list table inet ${FAIL_CLOSED_TABLE}`]);
    expect(reconciler.listeners).toHaveLength(0);
  });

  it('with a stored revision lets boot apply it, and drops a leftover fail-closed table', async () => {
    const runner = new RecordingCommandRunner();
    expect(await failClosedUntilFirstRevision(runner, events({ interfaces: [] }), 8080, memoryLogger())).toBe(false);
    expect(runner.transcript()).toEqual([`nft list table inet ${FAIL_CLOSED_TABLE}`, `nft delete table inet ${FAIL_CLOSED_TABLE}`]);
  });

  it('fails serve start when nft cannot say whether the table exists', async () => {
    const runner = new RecordingCommandRunner().on(() => true, () => ({ code: 1, stderr: 'Error: Operation not permitted' }));
    await expect(failClosedUntilFirstRevision(runner, events(undefined), 8080, memoryLogger())).rejects.toThrow(/Operation not permitted/);
  });
});
