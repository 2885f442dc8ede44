// Sysctls in a container: with /proc/sys read-only, values already right
// are fine, and anything else fails naming the compose and Pod entries.
import { describe, expect, it } from 'vitest';
import { FORWARDING_SYSCTLS } from '../../../appliance/subsystems/links/sysctls.js';
import { Sysctls, runtimeSysctlAdvice } from '../../../appliance/platform/sysctls.js';
import { JUNCTION_SYSCTLS } from '../../../appliance/main/subsystems.js';
import { BGP_SYSCTLS } from '../../../appliance/subsystems/bgp/render.js';
import { LinksSubsystem, renderLinks } from '../../../appliance/subsystems/links/index.js';
import { RecordingCommandRunner } from '../../support/recording-runner.js';

/** A runner whose `sysctl -n` answers from a table (a kernel), and that records writes. */
function kernel(values: Record<string, string>) {
  return new RecordingCommandRunner()
    .on((c) => c.program === 'sysctl' && c.args[0] === '-n', (c) => ({ stdout: `${values[c.args[1]] ?? ''}\n` }))
    .on((c) => c.program === 'ip', () => ({ stdout: '[]' }));
}
const allSet = Object.fromEntries(JUNCTION_SYSCTLS.map((s) => [s.key, s.value]));

describe('the sysctls Junction needs', () => {
  it('are the forwarding set and the BGP set, each once, all unsafe in Kubernetes', () => {
    expect(JUNCTION_SYSCTLS.map((s) => s.key).sort()).toEqual([...Object.keys(FORWARDING_SYSCTLS), ...Object.keys(BGP_SYSCTLS)].sort());
    expect(new Set(JUNCTION_SYSCTLS.map((s) => s.key)).size).toBe(JUNCTION_SYSCTLS.length);
    for (const s of JUNCTION_SYSCTLS) {
      expect(s.kubernetes).toBe('unsafe');
      expect(s.why.length).toBeGreaterThan(10);
    }
    expect(renderLinks({ interfaces: [] } as never).sysctls).toEqual(FORWARDING_SYSCTLS);
  });
});

describe('Sysctls', () => {
  it('with /proc/sys read-only and the values already set: nothing to do, no write', async () => {
    const runner = kernel(allSet);
    const sysctls = new Sysctls(runner, async () => true);
    expect(await sysctls.ensure(FORWARDING_SYSCTLS)).toEqual([]);
    expect(await sysctls.unreachable(FORWARDING_SYSCTLS)).toBeUndefined();
    expect(runner.transcript().some((l) => l.includes('-w'))).toBe(false);
  });

  it('with /proc/sys read-only and a value missing: fails naming exactly the entries to add', async () => {
    const runner = kernel({ ...allSet, 'net.ipv6.conf.all.forwarding': '0', 'net.ipv4.conf.all.rp_filter': '1' });
    const sysctls = new Sysctls(runner, async () => true);
    const error = await sysctls.ensure(FORWARDING_SYSCTLS).then(() => undefined, (e: Error) => e.message);
    expect(error).toContain('/proc/sys is read-only');
    expect(error).toContain('compose `sysctls: { net.ipv6.conf.all.forwarding: "1", net.ipv4.conf.all.rp_filter: "2" }`');
    expect(error).toContain('securityContext.sysctls: [{name: net.ipv6.conf.all.forwarding, value: "1"}, {name: net.ipv4.conf.all.rp_filter, value: "2"}]');
    expect(error).toContain('--allowed-unsafe-sysctls');
    expect(error).not.toContain('ip_forward'); // already right: not named
    expect(runner.transcript().some((l) => l.includes('-w'))).toBe(false);
  });

  it('with /proc/sys writable: writes only what differs', async () => {
    const runner = kernel({ ...allSet, 'net.ipv4.ip_forward': '0' });
    const sysctls = new Sysctls(runner, async () => false);
    expect(await sysctls.ensure(FORWARDING_SYSCTLS)).toEqual(['sysctl -q -w net.ipv4.ip_forward=1']);
    expect(runner.transcript().filter((l) => l.includes('-w'))).toEqual(['sysctl -q -w net.ipv4.ip_forward=1']);
  });

  it('advice lists the current value, or says it is unreadable', () => {
    expect(runtimeSysctlAdvice([{ key: 'net.ipv4.ip_forward', have: '', want: '1' }])).toContain('net.ipv4.ip_forward is (unreadable), needs 1');
  });
});

describe('links in a container', () => {
  it('rejects the commit at check, before any change, when the runtime did not set a sysctl', async () => {
    const runner = kernel({ ...allSet, 'net.ipv4.ip_forward': '0' });
    const links = new LinksSubsystem(runner, undefined, new Sysctls(runner, async () => true));
    const config = { interfaces: [] } as never;
    const problems = await links.check(renderLinks(config));
    expect(problems).toHaveLength(1);
    expect(problems[0].path).toBe('/interfaces');
    expect(problems[0].message).toContain('net.ipv4.ip_forward: "1"');
    await expect(links.apply(renderLinks(config))).rejects.toThrow(/read-only/);
    expect(runner.transcript().some((l) => l.includes('-w') || l.startsWith('ip link set') || l.startsWith('ip addr add'))).toBe(false);
  });

  it('accepts it when the runtime set them all', async () => {
    const runner = kernel(allSet);
    const links = new LinksSubsystem(runner, undefined, new Sysctls(runner, async () => true));
    const config = { interfaces: [] } as never;
    expect(await links.check(renderLinks(config))).toEqual([]);
    expect(await links.apply(renderLinks(config))).toEqual([]);
  });
});
