// The router image's entrypoint in a real network namespace: interfaces
// named by the runtime (eth0..) get the configuration's names by subnet and
// by MAC, the default route survives the rename, and a selector that
// matches nothing stops the start naming what is there. `node` is a stand-in
// on PATH that prints the serve command line instead of serving.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRoot, uniquePrefix } from './support/lab-fixture.js';

const run = promisify(execFile);
const root = requireRoot();
const ENTRYPOINT = fileURLToPath(new URL('../../images/router/entrypoint.sh', import.meta.url));

describe.skipIf(!root.isRoot)('the router entrypoint', () => {
  const ns = `${uniquePrefix('ep')}-router`;
  const bin = mkdtempSync(join(tmpdir(), 'junction-entrypoint-'));
  const ip = (...args: string[]) => run('ip', ['-n', ns, ...args]);
  const entrypoint = (selectors: string) =>
    run('ip', ['netns', 'exec', ns, 'env', `PATH=${bin}:${process.env.PATH}`, `JUNCTION_INTERFACES=${selectors}`, 'sh', ENTRYPOINT, '--listen', '0.0.0.0:8080'], { timeout: 20_000 });

  beforeAll(async () => {
    writeFileSync(join(bin, 'node'), '#!/bin/sh\necho node "$@"\n');
    chmodSync(join(bin, 'node'), 0o755);
    await run('ip', ['netns', 'add', ns]);
    // what a runtime leaves: eth0..eth3, addresses in an order unrelated to the roles
    await ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
    await ip('link', 'add', 'eth2', 'type', 'veth', 'peer', 'name', 'eth3');
    await ip('link', 'set', 'eth2', 'address', '02:00:0a:02:00:01');
    for (const dev of ['eth0', 'eth1', 'eth2', 'eth3']) await ip('link', 'set', dev, 'up');
    await ip('addr', 'add', '100.64.0.2/24', 'dev', 'eth1');
    await ip('addr', 'add', '10.1.0.1/24', 'dev', 'eth0');
    await ip('route', 'add', 'default', 'via', '100.64.0.1');
  });

  afterAll(async () => {
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    rmSync(bin, { recursive: true, force: true });
  });

  it('renames by subnet and by MAC, keeps the default route, then execs serve', async () => {
    const { stdout, stderr } = await entrypoint('ccnn0=subnet:100.64.0.0/24 vpc0=subnet:10.1.0.0/24 vpc1=mac:02-00-0A-02-00-01');
    expect(stdout.trim()).toBe('node /opt/junction/dist/appliance/cli.js serve --state-dir /var/lib/junction --listen 0.0.0.0:8080');
    expect(stderr).toContain('eth1 -> ccnn0 (subnet:100.64.0.0/24)');
    const links = (await ip('-br', 'addr')).stdout;
    expect(links).toMatch(/^ccnn0@\S+\s+UP\s+100\.64\.0\.2\/24/m);
    expect(links).toMatch(/^vpc0@\S+\s+UP\s+10\.1\.0\.1\/24/m);
    expect(links).toMatch(/^vpc1@\S+\s+UP/m);
    expect((await ip('route', 'show', 'default')).stdout.trim()).toBe('default via 100.64.0.1 dev ccnn0');
    // already named: a second start changes nothing
    const again = await entrypoint('ccnn0=subnet:100.64.0.0/24 vpc0=subnet:10.1.0.0/24');
    expect(again.stderr).toBe('');
  });

  it('stops the start when a selector matches no interface, listing what there is', async () => {
    const error = await entrypoint('vpc9=subnet:10.9.0.0/24').then(() => undefined, (e: { code: number; stdout: string; stderr: string }) => e);
    expect(error?.code).toBe(65);
    expect(error?.stdout).toBe(''); // serve never started
    expect(error?.stderr).toContain('vpc9=subnet:10.9.0.0/24 matches 0 interfaces');
    expect(error?.stderr).toMatch(/ccnn0@/);
  });
});
