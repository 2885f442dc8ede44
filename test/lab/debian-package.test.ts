// `npm run package` for real: the .deb is built with dpkg-deb and inspected
// (dpkg-deb -I / -c), then unpacked and its own Node runs its own CLI
// (`junction doctor --json`, which loads every module the appliance loads
// and asks this machine's kernel and daemons). The systemd unit belongs to
// deploy/systemd/junction.service; where it is absent the build must refuse.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRoot } from './support/lab-fixture.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const root = requireRoot();
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
const REAL_UNIT = join(repo, 'deploy/systemd/junction.service');
const runtime = /^runtime=\(([^)]*)\)/m.exec(readFileSync(join(repo, 'appliance/scripts/setup.sh'), 'utf8'))![1].split(/\s+/).filter(Boolean);

describe.skipIf(!root.isRoot)('the Debian package', () => {
  const work = mkdtempSync(join(tmpdir(), 'junction-deb-'));
  const out = join(work, 'out');
  let deb = '';
  let buildSeconds = 0;

  const build = (env: Record<string, string>) =>
    run('bash', ['deploy/debian/build-package.sh'], { cwd: repo, env: { ...process.env, JUNCTION_PACKAGE_OUT: out, ...env }, timeout: 240_000, maxBuffer: 1 << 24 });

  beforeAll(async () => {
    expect(existsSync(REAL_UNIT), `${REAL_UNIT} is the unit the package ships`).toBe(true);
    const started = Date.now();
    deb = (await build({ JUNCTION_SYSTEMD_UNIT: REAL_UNIT })).stdout.trim();
    buildSeconds = (Date.now() - started) / 1000;
    process.stdout.write(`debian package: built ${deb} in ${buildSeconds.toFixed(1)} s\n`);
  }, 300_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('refuses to build without the systemd unit, naming where it belongs', async () => {
    const error = await build({ JUNCTION_SYSTEMD_UNIT: join(work, 'absent.service') }).then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(error?.code).toBe(1);
    expect(error?.stderr).toContain('no systemd unit at');
    expect(error?.stderr).toContain('deploy/systemd/junction.service');
  });

  it('has the version, and Depends: exactly the runtime packages of setup.sh', async () => {
    expect(deb.endsWith(`junction_${version}_amd64.deb`)).toBe(true);
    const field = async (name: string) => (await run('dpkg-deb', ['-f', deb, name])).stdout.trim();
    expect(await field('Package')).toBe('junction');
    expect(await field('Version')).toBe(version);
    expect((await field('Depends')).split(', ').sort()).toEqual([...runtime].sort());
    expect((await run('dpkg-deb', ['-I', deb])).stdout).toMatch(/conffiles[\s\S]*postinst/);
  });

  it('installs the product, its wrapper, the unit and a default config, and nothing for development', async () => {
    const files = (await run('dpkg-deb', ['-c', deb], { maxBuffer: 1 << 26 })).stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/).slice(5).join(' ').replace(/^\.\//, ''));
    for (const path of ['usr/bin/junction', 'lib/systemd/system/junction.service', 'etc/junction/junction.yaml', 'opt/junction/bin/node', 'opt/junction/dist/appliance/cli.js', 'opt/junction/node_modules/better-sqlite3/package.json', 'opt/junction/node_modules/fastify/package.json']) {
      expect(files, path).toContain(path);
    }
    const top = new Set(files.filter((f) => f.startsWith('opt/junction/') && f.split('/').length >= 3).map((f) => f.split('/')[2]));
    expect([...top].filter(Boolean).sort()).toEqual(['bin', 'dist', 'node_modules', 'package.json']);
    expect(files.filter((f) => /^opt\/junction\/dist\/(?!api\/|appliance\/|rules\/)/.test(f) && !f.endsWith('/'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.map') && f.startsWith('opt/junction/dist/'))).toEqual([]);
    for (const dev of ['vitest', 'typescript', 'tsx', 'fast-check', '@types']) expect(files).not.toContain(`opt/junction/node_modules/${dev}/`);
    expect(files.some((f) => /(^|\/)(test|golden)\//.test(f.replace(/^opt\/junction\/node_modules\/.*/, '')))).toBe(false);
  });

  it("runs its own CLI with its own Node: junction doctor from the unpacked tree", async () => {
    const tree = join(work, 'tree');
    await run('dpkg-deb', ['-x', deb, tree]);
    const result = await run(join(tree, 'opt/junction/bin/node'), [join(tree, 'opt/junction/dist/appliance/cli.js'), 'doctor', '--json'], { timeout: 60_000 }).catch((e: { stdout: string }) => e);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: Array<{ id: string; ok: boolean }> };
    expect(report.checks.length).toBeGreaterThan(5);
    expect(report.ok).toBe(true); // this machine has every runtime package: so must the package's view of it
  }, 90_000);
});
