// The router image's entrypoint: it execs `junction serve` and leaves the
// interfaces alone (the configuration selects them by match; see
// interface-selection.test.ts), and a leftover JUNCTION_INTERFACES from the
// days it renamed interfaces stops the start instead of being ignored.
// `node` is a stand-in on PATH that prints the serve command line instead
// of serving. Runs in a namespace of its own so nothing of the machine's
// is in reach.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRoot, uniquePrefix } from './support/lab-fixture.js';
import { SERVE_NODE_FLAGS } from '../../appliance/main/node-flags.js';

const run = promisify(execFile);
const root = requireRoot();
const ENTRYPOINT = fileURLToPath(new URL('../../images/router/entrypoint.sh', import.meta.url));

describe.skipIf(!root.isRoot)('the router entrypoint', () => {
  const ns = `${uniquePrefix('ep')}-router`;
  const bin = mkdtempSync(join(tmpdir(), 'junction-entrypoint-'));
  const ip = (...args: string[]) => run('ip', ['-n', ns, ...args]);
  const entrypoint = (env: string[] = []) =>
    run('ip', ['netns', 'exec', ns, 'env', `PATH=${bin}:${process.env.PATH}`, ...env, 'sh', ENTRYPOINT, '--listen', '0.0.0.0:8080'], { timeout: 20_000 });

  beforeAll(async () => {
    writeFileSync(join(bin, 'node'), '#!/bin/sh\necho node "$@"\n');
    chmodSync(join(bin, 'node'), 0o755);
    await run('ip', ['netns', 'add', ns]);
    // what a runtime leaves: eth0..eth1 with addresses
    await ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
    for (const dev of ['eth0', 'eth1']) await ip('link', 'set', dev, 'up');
    await ip('addr', 'add', '10.1.0.1/24', 'dev', 'eth0');
  });

  afterAll(async () => {
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    rmSync(bin, { recursive: true, force: true });
  });

  it('execs serve on the state directory and touches no interface', async () => {
    const before = (await ip('-br', 'addr')).stdout;
    const { stdout, stderr } = await entrypoint();
    // with the V8 flags every serve runs with (appliance/main/node-flags.ts)
    expect(stdout.trim()).toBe(`node ${SERVE_NODE_FLAGS.join(' ')} /opt/junction/dist/appliance/cli.js serve --state-dir /var/lib/junction --listen 0.0.0.0:8080`);
    expect(stderr).toBe('');
    expect((await ip('-br', 'addr')).stdout).toBe(before);
  });

  it('stops the start on a leftover JUNCTION_INTERFACES, pointing at match', async () => {
    const before = (await ip('-br', 'addr')).stdout;
    const error = await entrypoint(['JUNCTION_INTERFACES=vpc0=subnet:10.1.0.0/24']).then(() => undefined, (e: { code: number; stdout: string; stderr: string }) => e);
    expect(error?.code).toBe(64);
    expect(error?.stdout).toBe(''); // serve never started
    expect(error?.stderr).toContain('JUNCTION_INTERFACES is no longer read');
    expect(error?.stderr).toContain('match: { subnet: 10.1.0.0/24 }');
    expect((await ip('-br', 'addr')).stdout).toBe(before);
  });
});
