// The doctor's own logic with a recording runner: how requirements are
// checked, merged and reported, and what each subsystem's check concludes
// from what the programs answer. The real programs are checked by
// test/lab/doctor.test.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RecordingCommandRunner } from '../support/recording-runner.js';
import { formatDoctorReport, runDoctor } from '../../appliance/platform/doctor.js';
import { probeCapabilities } from '../../appliance/platform/capabilities.js';
import { programRequirement, type Requirement, type SubsystemRequirements } from '../../appliance/platform/requirements.js';
import { SUBSYSTEM_REQUIREMENTS } from '../../appliance/main/requirements.js';
import { charonLogFindings, judgeCharonStart, packageForPlugin } from '../../appliance/subsystems/vpn/requirements.js';
import { firewallRequirements } from '../../appliance/subsystems/firewall/requirements.js';
import { linksRequirements } from '../../appliance/subsystems/links/requirements.js';
import { bgpRequirements, sampleBirdConfig } from '../../appliance/subsystems/bgp/requirements.js';
import { NO_CAPABILITIES } from '../../appliance/platform/capabilities.js';

const fixed = (id: string, ok: boolean, need: Requirement['need'] = 'feature'): Requirement => ({
  id,
  need,
  what: `${id} works`,
  packages: [`pkg-${id}`],
  check: async () => ({ ok, detail: ok ? 'fine' : 'broken' }),
});

// What charon 5.9.8 logged on a machine without libstrongswan-standard-plugins (exit 66).
const CHARON_WITHOUT_OPENSSL = [
  "00[LIB] plugin 'openssl': failed to load - openssl_plugin_create not found and no plugin file available",
  '00[LIB] created TUN device: ipsec0',
  "00[LIB] feature CUSTOM:libcharon-sa-managers in critical plugin 'charon' has unmet dependency: HASHER:HASH_SHA1",
  "00[LIB] feature CUSTOM:libcharon in critical plugin 'charon' has unmet dependency: CUSTOM:libcharon-sa-managers",
  "00[LIB] feature CUSTOM:libcharon-receiver in critical plugin 'charon' has unmet dependency: HASHER:HASH_SHA1",
  '00[LIB] failed to load 3 critical plugin features',
  '00[DMN] initialization failed - aborting charon',
];

describe('runDoctor', () => {
  it('checks a requirement shared by two subsystems once and names both', async () => {
    let calls = 0;
    const shared: Requirement = { ...fixed('shared', true), check: async () => ((calls += 1), { ok: true, detail: 'fine' }) };
    const report = await runDoctor([{ subsystem: 'a', requirements: [shared] }, { subsystem: 'b', requirements: [shared] }], new RecordingCommandRunner());
    expect(calls).toBe(1);
    expect(report.checks).toEqual([expect.objectContaining({ id: 'shared', subsystems: ['a', 'b'], ok: true })]);
    expect(report.ok).toBe(true);
    expect(report.capabilities.missing).toEqual([]);
  });

  it('says what is missing and which package to install, and only a core failure is coreMissing', async () => {
    const report = await runDoctor([{ subsystem: 'vpn', requirements: [fixed('good', true), fixed('bad', false)] }], new RecordingCommandRunner());
    expect(report.ok).toBe(false);
    expect(report.coreMissing).toBe(false);
    const bad = report.checks.find((c) => c.id === 'bad')!;
    expect(bad.install).toEqual(['pkg-bad']);
    expect(bad.message).toBe('bad works: NO (broken); vpn cannot work without it. Install the Debian package pkg-bad (apt-get install --no-install-recommends pkg-bad)');
    expect(report.capabilities.missing).toEqual([{ id: 'bad', need: 'feature', message: bad.message }]);
    const core = await runDoctor([{ subsystem: 'links', requirements: [fixed('ip', false, 'core')] }], new RecordingCommandRunner());
    expect(core.coreMissing).toBe(true);
    expect(core.checks[0]!.message).toContain('Junction cannot run without it');
  });

  it('prefers the packages a check names over the requirement default', async () => {
    const narrowed: Requirement = { ...fixed('charon', false), check: async () => ({ ok: false, detail: 'no openssl', packages: ['libstrongswan-standard-plugins'] }) };
    const report = await runDoctor([{ subsystem: 'vpn', requirements: [narrowed] }], new RecordingCommandRunner());
    expect(report.checks[0]!.install).toEqual(['libstrongswan-standard-plugins']);
    expect(formatDoctorReport(report)).toContain('install: apt-get install --no-install-recommends libstrongswan-standard-plugins');
    expect(formatDoctorReport(report)).toMatch(/1 of 1 checks failed; install: libstrongswan-standard-plugins\n$/);
  });

  it('turns a check that throws into a failed check, not a crash', async () => {
    const throwing: Requirement = { ...fixed('boom', true), check: async () => Promise.reject(new Error('EACCES')) };
    const report = await runDoctor([{ subsystem: 'x', requirements: [throwing, fixed('after', true)] }], new RecordingCommandRunner());
    expect(report.checks.map((c) => [c.id, c.ok, c.detail])).toEqual([
      ['boom', false, 'check failed: EACCES'],
      ['after', true, 'fine'],
    ]);
  });

  it('runs the capability probes first and hands their result to the checks', async () => {
    let seen: boolean | undefined;
    const declarations: SubsystemRequirements[] = [
      { subsystem: 'vpn', requirements: [{ ...fixed('uses-caps', true), check: async ({ capabilities }) => ((seen = capabilities.xfrmEsp), { ok: true, detail: '' }) }], capabilities: async () => ({ xfrmEsp: true, notes: ['esp here'] }) },
    ];
    const report = await runDoctor(declarations, new RecordingCommandRunner());
    expect(seen).toBe(true);
    expect(report.capabilities).toMatchObject({ xfrmEsp: true, flowtable: false, notes: ['esp here'] });
  });
});

describe('probeCapabilities', () => {
  it('merges what the probes find; a probe that throws leaves its feature off and says so', async () => {
    const caps = await probeCapabilities(new RecordingCommandRunner(), [async () => ({ flowtable: true }), async () => Promise.reject(new Error('no netns'))]);
    expect(caps.flowtable).toBe(true);
    expect(caps.xfrmEsp).toBe(false);
    expect(caps.notes).toEqual(['a capability probe failed (no netns); that feature is treated as unavailable']);
  });
});

describe('programRequirement', () => {
  const nft = programRequirement({ id: 'nft', need: 'core', what: 'nft', packages: ['nftables'], program: 'nft', args: ['--version'] });
  const context = (runner: RecordingCommandRunner) => ({ runner, capabilities: NO_CAPABILITIES });

  it('reads exit 127 as "not installed"', async () => {
    const runner = new RecordingCommandRunner().on((c) => c.program === 'nft', () => ({ code: 127, stderr: 'spawn nft ENOENT' }));
    expect(await nft.check(context(runner))).toEqual({ ok: false, detail: 'nft is not installed' });
  });

  it("quotes the program's complaint for any other failure", async () => {
    const runner = new RecordingCommandRunner().on((c) => c.program === 'nft', () => ({ code: 1, stderr: 'Error: Operation not permitted\nmore' }));
    expect(await nft.check(context(runner))).toEqual({ ok: false, detail: 'nft --version exited 1: Error: Operation not permitted' });
    expect(runner.transcript()).toEqual(['nft --version']);
  });
});

describe('charon plugin check', () => {
  it('finds the plugin that failed and the unmet HASHER:HASH_SHA1 in what charon logged', () => {
    expect(charonLogFindings(CHARON_WITHOUT_OPENSSL)).toEqual({ failedPlugins: ['openssl'], unmet: ['HASHER:HASH_SHA1', 'CUSTOM:libcharon-sa-managers'] });
  });

  it('names libstrongswan-standard-plugins when charon exits 66 without its openssl plugin', () => {
    const verdict = judgeCharonStart(['random', 'openssl', 'vici'], CHARON_WITHOUT_OPENSSL, { error: 'charon exited with code 66 during start' });
    expect(verdict.ok).toBe(false);
    expect(verdict.detail).toBe('charon did not start (plugins not loaded: openssl; unmet dependencies: HASHER:HASH_SHA1, CUSTOM:libcharon-sa-managers)');
    expect(verdict.packages).toEqual(['libstrongswan-standard-plugins']);
  });

  it('fails a charon that started without one of its plugins (libipsec) and names its package', () => {
    const verdict = judgeCharonStart(['openssl', 'kernel-libipsec', 'vici'], [], { loaded: ['charon', 'openssl', 'vici'] });
    expect(verdict).toEqual({ ok: false, detail: 'charon started without plugins kernel-libipsec', packages: ['libcharon-extra-plugins'] });
  });

  it('falls back to the charon packages when it cannot tell which plugin is to blame', () => {
    const verdict = judgeCharonStart(['openssl'], ['00[DMN] initialization failed - aborting charon'], { error: 'charon exited with code 66 during start' });
    expect(verdict.detail).toBe('charon did not start (charon exited with code 66 during start)');
    expect(verdict.packages).toEqual(['strongswan-charon', 'libstrongswan-standard-plugins']);
  });

  it('passes when every wanted plugin is loaded', () => {
    expect(judgeCharonStart(['openssl', 'vici'], [], { loaded: ['charon', 'openssl', 'vici'] }).ok).toBe(true);
  });

  it('maps plugins to the Debian 12 packages that ship them', () => {
    expect(['openssl', 'kernel-libipsec', 'vici', 'socket-default', 'kdf'].map(packageForPlugin)).toEqual([
      'libstrongswan-standard-plugins',
      'libcharon-extra-plugins',
      'strongswan-swanctl',
      'strongswan-libcharon',
      'libstrongswan',
    ]);
  });
});

describe('subsystem checks', () => {
  const context = (runner: RecordingCommandRunner) => ({ runner, capabilities: NO_CAPABILITIES });
  const byId = (declaration: SubsystemRequirements, id: string) => declaration.requirements.find((r) => r.id === id)!;

  it('firewall: nft -c of the feature batch; a kernel refusal is a failure with its message', async () => {
    const runner = new RecordingCommandRunner().on((c) => c.program === 'nft', () => ({ code: 1, stderr: 'Error: Could not process rule: No such file or directory\n' }));
    const result = await byId(firewallRequirements, 'firewall.nft-features').check(context(runner));
    expect(result.ok).toBe(false);
    expect(result.detail).toBe('nft -c rejected the feature probe: Error: Could not process rule: No such file or directory');
    expect(runner.transcript()[0]).toMatch(/^nft -c -f \S+features\.nft$/);
  });

  it('firewall: the flowtable probe is a check-only JSON batch; refused means off, with a note', async () => {
    const runner = new RecordingCommandRunner().on((c) => c.program === 'nft', () => ({ code: 1, stderr: 'Error: Could not process rule: No such file or directory' }));
    const found = await firewallRequirements.capabilities!(runner, 'eth0');
    expect(found.flowtable).toBe(false);
    expect(found.notes![0]).toContain('nftables flowtables unavailable');
    expect(runner.transcript()[0]).toMatch(/^nft -c -j -f \S+flowtable\.json$/);
  });

  it('links: udhcpc must be one of busybox applets', async () => {
    const udhcpc = byId(linksRequirements, 'links.udhcpc');
    const without = new RecordingCommandRunner().on((c) => c.program === 'busybox', () => ({ stdout: 'sh\nip\n' }));
    expect(await udhcpc.check(context(without))).toEqual({ ok: false, detail: 'this busybox has no udhcpc applet' });
    const withIt = new RecordingCommandRunner().on((c) => c.program === 'busybox', () => ({ stdout: 'sh\nudhcpc\n' }));
    expect((await udhcpc.check(context(withIt))).ok).toBe(true);
  });

  it('bgp: bird -p -c on a rendered configuration; its complaint is the detail', async () => {
    const runner = new RecordingCommandRunner().on((c) => c.program === 'bird', () => ({ code: 1, stderr: 'bird: /tmp/x/bird.conf:3:1 syntax error\n' }));
    const result = await byId(bgpRequirements, 'bgp.bird-parses').check(context(runner));
    expect(result).toEqual({ ok: false, detail: 'bird -p rejected a rendered configuration: bird: /tmp/x/bird.conf:3:1 syntax error' });
    expect(runner.commands[0]!.args.slice(0, 2)).toEqual(['-p', '-c']);
    expect(sampleBirdConfig()).toContain('password');
  });
});

describe('layering', () => {
  it('every subsystem declares its requirements to the composition root', () => {
    expect(SUBSYSTEM_REQUIREMENTS.map((d) => d.subsystem)).toEqual(['platform', 'links', 'routes', 'vpn', 'bgp', 'dhcp', 'firewall']);
  });

  it('platform imports no subsystem (the probes come from the composition root)', () => {
    const dir = fileURLToPath(new URL('../../appliance/platform/', import.meta.url));
    const upward = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /from '\.\.\/(subsystems|core|main)\//.test(readFileSync(join(dir, f), 'utf8')));
    expect(upward).toEqual([]);
  });
});
