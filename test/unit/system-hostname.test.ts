// appliance/subsystems/system: the hostname is set only where Junction owns
// its UTS namespace; elsewhere the commit is warned and the plan says so.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../appliance/model/schema.js';
import { SystemSubsystem } from '../../appliance/subsystems/system/index.js';
import { decideHostnameOwnership, probeHostnameOwnership } from '../../appliance/subsystems/system/uts.js';
import { RecordingCommandRunner } from '../support/recording-runner.js';

const INITIAL_UTS = 'uts:[4026531838]';
const INITIAL_PID = 'pid:[4026531836]';

describe('decideHostnameOwnership', () => {
  it('a UTS namespace of its own (container, unshare --uts): settable', () => {
    expect(decideHostnameOwnership({ selfUts: 'uts:[4026532888]', selfPid: 'pid:[4026532890]', selfNet: 'net:[4026532000]', initNet: 'net:[4026531840]' }).settable).toBe(true);
  });

  it("the machine's own namespaces (a VM, a dedicated host): settable, the machine is the appliance", () => {
    const vm = decideHostnameOwnership({ selfUts: INITIAL_UTS, selfPid: INITIAL_PID, selfNet: 'net:[4026531840]', initNet: 'net:[4026531840]' });
    expect(vm).toMatchObject({ settable: true, reason: expect.stringMatching(/VM/) });
  });

  it("the lab (ip netns exec): the machine's UTS namespace from another network namespace: not settable, and says why", () => {
    const lab = decideHostnameOwnership({ selfUts: INITIAL_UTS, selfPid: INITIAL_PID, selfNet: 'net:[4026532500]', initNet: 'net:[4026531840]' });
    expect(lab.settable).toBe(false);
    expect(lab.reason).toMatch(/rename the machine.*unshare --uts/);
  });

  it("a hostNetwork Pod or docker --uts=host (own pid namespace, the machine's UTS): not settable", () => {
    // pid 1 is the container's init here, so "same net as pid 1" proves nothing: the pid namespace decides
    expect(decideHostnameOwnership({ selfUts: INITIAL_UTS, selfPid: 'pid:[4026532777]', selfNet: 'net:[4026531840]', initNet: 'net:[4026531840]' }).settable).toBe(false);
  });

  it('unreadable /proc: not settable, and says it cannot tell', () => {
    expect(decideHostnameOwnership({}).settable).toBe(false);
    // pid 1's links are root-only with ptrace restrictions: the machine's namespaces cannot be told from the lab's
    const hardened = decideHostnameOwnership({ selfUts: INITIAL_UTS, selfPid: INITIAL_PID, selfNet: 'net:[4026531840]' });
    expect(hardened).toMatchObject({ settable: false, reason: expect.stringMatching(/cannot tell whether it is the machine/) });
  });

  it('probes this process without throwing', () => {
    expect(typeof probeHostnameOwnership().settable).toBe('boolean');
  });
});

const config = (hostname?: string): Config => ({ interfaces: [], zones: [], ...(hostname ? { system: { hostname } } : {}) });

function kernel(initial = 'ci-machine') {
  let hostname = initial;
  const runner = new RecordingCommandRunner().on((c) => c.program === 'hostname', (c) => {
    if (c.args.length) hostname = c.args[0];
    return { stdout: `${hostname}\n` };
  });
  return { runner, hostname: () => hostname };
}

describe('SystemSubsystem', () => {
  const owned = { settable: true, reason: 'own UTS namespace' };
  const shared = { settable: false, reason: "shares the machine's UTS namespace" };

  it('where it owns the UTS namespace: plans, applies, detects drift and repairs it, and restores the snapshot', async () => {
    const k = kernel();
    const driver = new SystemSubsystem(k.runner, owned);
    const desired = driver.render(config('junction-lab'));
    expect(driver.verify(config('junction-lab'))).toEqual([]);
    expect(driver.describe(desired)).toEqual(['hostname junction-lab']);
    const before = await driver.snapshot(desired);
    expect(await driver.drift(desired)).toEqual(['hostname is "ci-machine", want "junction-lab"']);
    expect(await driver.apply(desired)).toEqual(['hostname junction-lab']);
    expect(k.hostname()).toBe('junction-lab');
    expect(await driver.apply(desired)).toEqual([]); // idempotent
    await driver.apply(before); // rollback
    expect(k.hostname()).toBe('ci-machine');
  });

  it('where it shares the machine\'s UTS namespace: a warning at /system/hostname, the plan says "not applied", nothing is run', async () => {
    const k = kernel();
    const driver = new SystemSubsystem(k.runner, shared);
    expect(driver.verify(config('junction-lab'))).toEqual([{ path: '/system/hostname', message: "not applied: shares the machine's UTS namespace", severity: 'warning' }]);
    const desired = driver.render(config('junction-lab'));
    expect(driver.describe(desired)).toEqual(['hostname junction-lab (not applied: Junction does not own its UTS namespace)']);
    expect(await driver.drift(desired)).toEqual([]);
    expect(await driver.apply(await driver.snapshot(desired))).toEqual([]);
    expect(await driver.apply(desired)).toEqual([]);
    expect(k.runner.transcript()).toEqual([]);
    expect(k.hostname()).toBe('ci-machine');
  });

  it('without system.hostname it leaves the hostname alone', async () => {
    const k = kernel();
    const driver = new SystemSubsystem(k.runner, owned);
    const desired = driver.render(config());
    expect(driver.describe(desired)).toEqual([]);
    expect(await driver.apply(desired)).toEqual([]);
    expect(k.runner.transcript()).toEqual([]);
  });

  it('rejects a name that is not a hostname, at its path', () => {
    const driver = new SystemSubsystem(kernel().runner, owned);
    for (const bad of ['-lab', 'lab-', 'a..b', '.lab']) {
      expect(driver.verify(config(bad))).toEqual([expect.objectContaining({ path: '/system/hostname', message: expect.stringContaining('is not a hostname') })]);
    }
    expect(driver.verify(config('router-1.example.net'))).toEqual([]);
  });

  it('a failing hostname command is an apply failure at /system/hostname', async () => {
    const runner = new RecordingCommandRunner()
      .on((c) => c.program === 'hostname' && c.args.length > 0, () => ({ code: 1, stderr: 'hostname: you must be root to change the host name' }))
      .on((c) => c.program === 'hostname', () => ({ stdout: 'ci-machine\n' }));
    const driver = new SystemSubsystem(runner, owned);
    await expect(driver.apply(driver.render(config('junction-lab')))).rejects.toMatchObject({ subsystem: 'system', path: '/system/hostname', message: expect.stringMatching(/must be root/) });
  });
});

describe('the system part of /v1/status', () => {
  const runner = () => new RecordingCommandRunner().on((c) => c.program === 'hostname' && c.args.length === 0, () => ({ stdout: 'vm\n' }));
  const config = { interfaces: [], zones: [], system: { hostname: 'edge-1' } } as Config;

  it('shows the kernel hostname, the configured one, and why it is not applied', async () => {
    const system = new SystemSubsystem(runner(), { settable: false, reason: 'Junction shares the machine UTS namespace' });
    expect(await system.statusReport(config)).toEqual({
      system: { hostname: 'vm', configured_hostname: 'edge-1', hostname_settable: false, hostname_not_applied_because: 'Junction shares the machine UTS namespace' },
    });
  });

  it('gives no reason where the hostname is Junction to set', async () => {
    const system = new SystemSubsystem(runner(), { settable: true, reason: 'own UTS namespace' });
    expect(await system.statusReport(undefined)).toEqual({ system: { hostname: 'vm', hostname_settable: true } });
  });
});
