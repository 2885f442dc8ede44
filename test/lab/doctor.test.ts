// `junction doctor` and serve's start-up check with the real programs on
// this machine: it must pass here (setup.sh installs what it checks), it
// must catch a charon that cannot load its plugins ("unmet dependency:
// HASHER:HASH_SHA1"), a core failure stops serve, and a missing feature
// package reaches /v1/status while serve keeps running.
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { SystemCommandRunner } from '../../appliance/platform/command-runner.js';
import { checkCharonPlugins } from '../../appliance/subsystems/vpn/requirements.js';
import { DEFAULT_CHARON_BINARY } from '../../appliance/subsystems/vpn/charon-process.js';
import type { DoctorReport } from '../../appliance/platform/doctor.js';
import { listNamespaces } from '../lab-kit/lab.js';
import { requireRoot, uniquePrefix, withLab } from './support/lab-fixture.js';
import { startJunction } from './support/junction.js';

const root = requireRoot();
const CLI = fileURLToPath(new URL('../../dist/appliance/cli.js', import.meta.url));
const execFileAsync = promisify(execFile);

/** Runs the built CLI; resolves with its exit code and output whatever the code. */
async function junction(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const doctorLeftovers = async () => ({
  namespaces: (await listNamespaces()).filter((n) => n.startsWith(`jndoctor${process.pid}`)),
  dirs: readdirSync(tmpdir()).filter((d) => d.startsWith('junction-doctor-')),
});

/** An executable script in a temp dir (a stand-in in front of a real program). */
function script(dir: string, name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe.skipIf(!root.isRoot)('junction doctor on this machine', () => {
  const work = root.isRoot ? mkdtempSync(join(tmpdir(), 'jndoctortest-')) : '';
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('passes: everything Junction needs is installed and works (setup.sh installed it)', async () => {
    const before = await doctorLeftovers();
    const result = await junction(['doctor', '--json']);
    const report = JSON.parse(result.stdout) as DoctorReport;
    const failed = report.checks.filter((c) => !c.ok).map((c) => c.message);
    expect(failed, 'run: bash appliance/scripts/setup.sh').toEqual([]);
    expect(result.code).toBe(0);
    expect(report.checks.map((c) => c.id)).toEqual(expect.arrayContaining(['vpn.charon-plugins', 'bgp.bird-parses', 'firewall.nft-features', 'links.udhcpc', 'firewall.ulogd']));
    expect(report.checks.find((c) => c.id === 'vpn.charon-plugins')!.detail).toMatch(/^charon started and loaded .*openssl.*vici/);
    // the probe's charon, namespace and directory are gone
    expect(await doctorLeftovers()).toEqual(before);
  });

  it('catches a charon that cannot load its plugins (no openssl plugin: unmet HASHER:HASH_SHA1)', async () => {
    // charon without its openssl plugin, as on a machine without libstrongswan-standard-plugins
    const charon = script(work, 'charon-without-openssl', `sed -i 's/^\\(  load = .*\\) openssl /\\1 /' "$STRONGSWAN_CONF"\nexec ${DEFAULT_CHARON_BINARY} "$@"`);
    const before = await doctorLeftovers();
    const verdict = await checkCharonPlugins(new SystemCommandRunner(), 'libipsec', charon);
    expect(verdict.ok).toBe(false);
    expect(verdict.detail).toContain('unmet dependencies: HASHER:HASH_SHA1');
    expect(verdict.packages).toContain('libstrongswan-standard-plugins');
    expect(await doctorLeftovers()).toEqual(before);
  });

  it('exits 1 and names the package when a core program fails (nft refuses the feature batch)', async () => {
    const nft = script(work, 'nft', 'echo "Error: Could not process rule: Operation not supported" >&2\nexit 1');
    const result = await junction(['doctor'], { JUNCTION_BIN_NFT: nft });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL +firewall +nft \(nftables\) and the kernel accept/);
    expect(result.stdout).toContain('nft -c rejected the feature probe: Error: Could not process rule: Operation not supported');
    expect(result.stdout).toContain('install: apt-get install --no-install-recommends nftables');
  });
});

describe.skipIf(!root.isRoot)('serve checks the machine at start', () => {
  const lab = withLab({ prefix: uniquePrefix('dr') }, root.isRoot);
  const work = root.isRoot ? mkdtempSync(join(tmpdir(), 'jndoctorserve-')) : '';
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('serves without bird, and says so in the log and in /v1/status capabilities', async () => {
    const bird = script(work, 'bird', 'exit 127');
    const running = await startJunction(lab(), { env: { JUNCTION_BIN_BIRD: bird } });
    try {
      const status = await running.api('GET', '/v1/status');
      expect(status.status).toBe(200);
      const missing = status.body.capabilities.missing as Array<{ id: string; need: string; message: string }>;
      expect(missing.map((m) => m.id)).toEqual(['bgp.bird-parses']);
      expect(missing[0]!.message).toBe(
        'bird (BIRD 2) parses the configuration Junction renders: NO (bird is not installed); bgp cannot work without it. Install the Debian package bird2 (apt-get install --no-install-recommends bird2)',
      );
      const log = readFileSync(join(running.stateDir, 'junction.log'), 'utf8');
      expect(log).toContain('missing requirement');
      expect(log).toContain('bgp.bird-parses');
    } finally {
      await running.stop();
      rmSync(running.stateDir, { recursive: true, force: true });
    }
  });

  it('refuses to serve when a core requirement is missing, and says why', async () => {
    const stateDir = mkdtempSync(join(work, 'state-'));
    const sysctl = script(work, 'sysctl', 'exit 127');
    const child = lab().spawn('router', ['env', `JUNCTION_BIN_SYSCTL=${sysctl}`, process.execPath, CLI, 'serve', '--state-dir', stateDir, '--listen', '127.0.0.1:8080'], { logFile: join(stateDir, 'junction.log') });
    try {
      const code = await Promise.race([child.exited, new Promise<string>((r) => setTimeout(() => r('still running after 30 s'), 30_000))]);
      expect(code).toBe(1);
      const log = readFileSync(join(stateDir, 'junction.log'), 'utf8');
      expect(log).toContain('sysctl is not installed');
      expect(log).toContain('cannot serve: a core requirement is missing');
      expect(existsSync(join(stateDir, 'api.sock'))).toBe(false);
    } finally {
      child.kill('SIGKILL'); // only if it is still running: it must not outlive the test
      await child.exited;
    }
  });
});
