// Junction end to end: the real `junction serve` in the lab's router
// namespace, programming the real kernel, with real traffic between lab
// namespaces. Covers NAT egress, zero-trust inter-VPC policy, port
// forwards, rejected configs, rollback of a failed apply, idempotency and
// drift repair.
import { readFileSync } from 'node:fs';
import { writeFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { addressing } from '../lab-kit/topology.js';
import { ping, tcpConnect, tcpListen } from '../lab-kit/traffic.js';
import { requireRoot, uniquePrefix, withLab } from './support/lab-fixture.js';
import { faultyNft, startJunction, type RunningJunction } from './support/junction.js';

const root = requireRoot();
const { vpcs, internet, ccnn } = addressing;
const demo = readFileSync(fileURLToPath(new URL('../lab-kit/demo.yaml', import.meta.url)), 'utf8');
const CLI = fileURLToPath(new URL('../../dist/appliance/cli.js', import.meta.url));
const execFileAsync = promisify(execFile);
const demoDoc = () => parseYaml(demo) as Record<string, any>;

describe.skipIf(!root.isRoot)('junction in the lab', () => {
  const prefix = uniquePrefix('e');
  const lab = withLab({ prefix, mtu: { a: 9000 } }, root.isRoot);
  const fault = faultyNft();
  let junction: RunningJunction;

  const ruleset = async () => (await lab().exec('router', ['nft', 'list', 'ruleset'], { check: true })).stdout;
  const withoutCounters = (text: string) => text.replace(/packets \d+ bytes \d+/g, 'packets N bytes N');
  const addresses = async () => (await lab().exec('router', ['ip', '-o', 'addr', 'show'], { check: true })).stdout;
  const routes = async () => (await lab().exec('router', ['ip', 'route', 'show'], { check: true })).stdout;

  beforeAll(async () => {
    junction = await startJunction(lab(), { env: { JUNCTION_BIN_NFT: fault.wrapper } });
    const put = await junction.api('PUT', '/v1/config?comment=demo', demo, { contentType: 'application/yaml' });
    expect(put.status, put.text).toBe(200);
  });

  afterAll(async () => {
    await junction?.stop();
    if (junction) rmSync(junction.stateDir, { recursive: true, force: true });
    fault.cleanup();
  });

  it('gives VPC hosts NAT egress: the internet host sees the router CCNN address', async () => {
    const listener = await tcpListen(lab(), 'inet', 9000);
    try {
      expect(await tcpConnect(lab(), 'a1', internet.host, 9000)).toBe(true);
      const peer = await listener.waitForPeer();
      expect(peer.address).toBe(ccnn.router);
    } finally {
      await listener.close();
    }
    expect((await ping(lab(), 'b2', internet.host, { count: 2, timeoutS: 3 })).reachable).toBe(true);
  });

  it('lets VPC a reach VPC b only on the allowed service, and nothing new from b to a', async () => {
    const db = await tcpListen(lab(), 'b1', 5432);
    const ssh = await tcpListen(lab(), 'b1', 22);
    const onB2 = await tcpListen(lab(), 'b2', 5432);
    const onA1 = await tcpListen(lab(), 'a1', 5432);
    try {
      expect(await tcpConnect(lab(), 'a1', vpcs.b.hosts.b1, 5432)).toBe(true); // allowed, and its replies pass
      expect((await db.waitForPeer()).address).toBe(vpcs.a.hosts.a1); // routed, not NATed
      expect(await tcpConnect(lab(), 'a1', vpcs.b.hosts.b1, 22, 1500)).toBe(false); // other port
      expect(await tcpConnect(lab(), 'a1', vpcs.b.hosts.b2, 5432, 1500)).toBe(false); // not a db server
      expect(await tcpConnect(lab(), 'b1', vpcs.a.hosts.a1, 5432, 1500)).toBe(false); // new connection b -> a
      expect((await ping(lab(), 'a1', vpcs.b.hosts.b1, { count: 1, timeoutS: 1 })).reachable).toBe(false);
      expect(ssh.peers()).toHaveLength(0);
      expect(onB2.peers()).toHaveLength(0);
      expect(onA1.peers()).toHaveLength(0);
    } finally {
      await Promise.all([db.close(), ssh.close(), onB2.close(), onA1.close()]);
    }
    const status = await junction.api('GET', '/v1/status');
    const rule = status.body.firewall.rules.find((r: { id: string }) => r.id === 'a-to-db');
    expect(rule.packets).toBeGreaterThan(0); // the per-rule counter counted the allowed SYN
  });

  it('forwards a port from the internet side to the right VPC host', async () => {
    const web = await tcpListen(lab(), 'a1', 80);
    const decoy = await tcpListen(lab(), 'a2', 80);
    try {
      expect(await tcpConnect(lab(), 'inet', ccnn.router, 8000)).toBe(true);
      expect((await web.waitForPeer()).address).toBe(internet.host);
      expect(decoy.peers()).toHaveLength(0);
      // the router's own port 80 is not open to the internet side
      expect(await tcpConnect(lab(), 'inet', ccnn.router, 80, 1500)).toBe(false);
    } finally {
      await Promise.all([web.close(), decoy.close()]);
    }
  });

  it('logs what a logging rule and a logging policy default saw', async () => {
    const doc = demoDoc();
    doc.firewall.policies[0].rules[0].log = true;
    doc.firewall.policies[0].log_default = true;
    expect((await junction.api('PUT', '/v1/config', doc)).status).toBe(200);
    const db = await tcpListen(lab(), 'b1', 5432);
    try {
      expect(await tcpConnect(lab(), 'a1', vpcs.b.hosts.b1, 5432)).toBe(true);
      expect(await tcpConnect(lab(), 'a1', vpcs.b.hosts.b1, 23, 1000)).toBe(false);
    } finally {
      await db.close();
    }
    let entries: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 20 && entries.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 250));
      entries = (await junction.api('GET', '/v1/firewall/log?policy=a-to-b')).body.entries;
    }
    expect(entries.find((e) => e.rule === 'a-to-db')).toMatchObject({ src: vpcs.a.hosts.a1, dst: vpcs.b.hosts.b1, dport: 5432, in: 'vpc0', out: 'vpc1' });
    expect(entries.find((e) => e.rule === 'default-drop')).toMatchObject({ src: vpcs.a.hosts.a1, dport: 23 });
    // ISO 8601 with an offset, and the right instant (not local time read as UTC)
    const time = String(entries.find((e) => e.rule === 'a-to-db')!.time);
    expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    expect(Math.abs(Date.now() - Date.parse(time))).toBeLessThan(60_000);
    expect((await junction.api('PUT', '/v1/config', demoDoc())).status).toBe(200); // back to the demo
  });

  it('carries jumbo frames on a VPC with MTU 9000', async () => {
    const doc = demoDoc();
    doc.interfaces[1].mtu = 9000;
    const put = await junction.api('PUT', '/v1/config', doc);
    expect(put.status, put.text).toBe(200);
    const link = await lab().exec('router', ['ip', '-j', 'link', 'show', 'vpc0'], { check: true });
    expect(JSON.parse(link.stdout)[0].mtu).toBe(9000);
    expect((await ping(lab(), 'a1', vpcs.a.gateway, { count: 1, timeoutS: 2, size: 8972, dontFragment: true })).reachable).toBe(true);
  });

  const invalid: Array<[string, (doc: Record<string, any>) => void, number, string]> = [
    ['dangling object reference', (d) => (d.firewall.policies[0].rules[0].destination = ['no-such-object']), 422, '/firewall/policies/0/rules/0/destination/0'],
    ['overlapping subnets', (d) => (d.interfaces[2].addresses = ['10.1.0.129/25']), 422, '/interfaces/2/addresses/0'],
    ['bad CIDR', (d) => (d.interfaces[1].addresses = ['10.1.0.300/24']), 422, '/interfaces/1/addresses/0'],
    ['unknown zone', (d) => (d.interfaces[1].zone = 'nowhere'), 422, '/interfaces/1/zone'],
    ['wrong type', (d) => (d.interfaces[1].mtu = 'jumbo'), 400, '/interfaces/1/mtu'],
  ];
  for (const [name, mutate, status, path] of invalid) {
    it(`rejects an invalid config (${name}) with ${status} naming ${path}, and changes nothing`, async () => {
      const before = { ruleset: await ruleset(), addresses: await addresses(), routes: await routes() };
      const revision = (await junction.api('GET', '/v1/revisions')).body.current;
      const doc = demoDoc();
      mutate(doc);
      const put = await junction.api('PUT', '/v1/config', doc);
      expect(put.status, put.text).toBe(status);
      expect(put.body.problems.map((p: { path: string }) => p.path)).toContain(path);
      expect(await ruleset()).toBe(before.ruleset); // byte for byte
      expect(await addresses()).toBe(before.addresses);
      expect(await routes()).toBe(before.routes);
      expect((await junction.api('GET', '/v1/revisions')).body.current).toBe(revision);
    });
  }

  it('rolls every subsystem back when the nft apply fails part-way', async () => {
    const before = { ruleset: await ruleset(), addresses: await addresses(), routes: await routes() };
    const revision = (await junction.api('GET', '/v1/revisions')).body.current;
    const doc = demoDoc();
    doc.interfaces[1].addresses.push('10.1.1.1/24'); // links step: a new address
    doc.routes.static.push({ id: 'lab-extra', destination: '10.99.0.0/16', via: '10.1.0.11' }); // routes step
    doc.firewall.policies[0].rules.push({ id: 'extra', action: 'accept', services: ['tcp/22'] }); // firewall step fails
    writeFileSync(fault.flag, '');
    try {
      const put = await junction.api('PUT', '/v1/config', doc);
      expect(put.status, put.text).toBe(500);
      expect(put.body).toMatchObject({ error: 'apply_failed', subsystem: 'firewall', rolled_back: true });
    } finally {
      rmSync(fault.flag, { force: true });
    }
    expect(await addresses()).not.toContain('10.1.1.1/24');
    expect(await routes()).not.toContain('10.99.0.0/16');
    expect(await addresses()).toBe(before.addresses);
    expect(await routes()).toBe(before.routes);
    expect(await ruleset()).toBe(before.ruleset);
    expect((await junction.api('GET', '/v1/revisions')).body.current).toBe(revision);
    expect(await tcpConnect(lab(), 'a1', vpcs.b.hosts.b1, 22, 1500)).toBe(false); // the failed rule is not in force
  });

  it('changes nothing when the same revision is applied twice', async () => {
    const current = await junction.api('GET', '/v1/config');
    const before = await ruleset();
    const put = await junction.api('PUT', '/v1/config', current.body);
    expect(put.status, put.text).toBe(200);
    expect(put.body.changed).toBe(false);
    for (const actions of Object.values(put.body.actions as Record<string, string[]>)) expect(actions).toEqual([]);
    expect(await ruleset()).toBe(before); // same handles: the table was not replaced
  });

  it('repairs a table flushed by hand on the periodic reconcile', async () => {
    const doc = (await junction.api('GET', '/v1/config')).body;
    doc.system = { ...doc.system, reconcile_interval_s: 5 };
    expect((await junction.api('PUT', '/v1/config', doc)).status).toBe(200);
    const intact = withoutCounters(await ruleset());
    await lab().exec('router', ['nft', 'flush', 'table', 'inet', 'junction'], { check: true });
    expect(await ruleset()).not.toContain('zone_dispatch'.concat(' comment')); // flushed: rules are gone
    expect(await tcpConnect(lab(), 'a1', vpcs.b.hosts.b1, 5432, 1500)).toBe(false); // nothing forwards now
    let repaired = false;
    for (let i = 0; i < 40 && !repaired; i++) {
      await new Promise((r) => setTimeout(r, 500));
      repaired = withoutCounters(await ruleset()).replace(/handle \d+/g, '') === intact.replace(/handle \d+/g, '');
    }
    expect(repaired).toBe(true);
    const status = await junction.api('GET', '/v1/status');
    expect(status.body.reconcile.repaired.firewall.length).toBeGreaterThan(0);
  });

  it('re-applies the current revision at boot after a restart', async () => {
    const expected = withoutCounters(await ruleset());
    await junction.stop();
    await lab().exec('router', ['nft', 'delete', 'table', 'inet', 'junction'], { check: true });
    await lab().exec('router', ['ip', 'route', 'del', 'default'], { check: true });
    junction = await startJunction(lab(), { stateDir: junction.stateDir, env: { JUNCTION_BIN_NFT: fault.wrapper } });
    expect(withoutCounters(await ruleset())).toBe(expected);
    expect(await routes()).toContain(`default via ${ccnn.gateway}`);
  });

  it('reverts a commit that is not confirmed in time, and keeps one that is (CLI and API)', async () => {
    const file = join(junction.stateDir, 'confirm-test.yaml');
    const doc = demoDoc();
    doc.routes.static.push({ id: 'probe', destination: '10.77.0.0/16', via: vpcs.a.hosts.a2 });
    writeFileSync(file, stringifyYaml(doc));
    const before = (await junction.api('GET', '/v1/revisions')).body.current;
    const cli = (...args: string[]) => execFileAsync(process.execPath, [CLI, ...args, '--state-dir', junction.stateDir]);
    const plan = await cli('plan', '-f', file);
    expect(plan.stdout).toContain('+ route 10.77.0.0/16 via 10.1.0.12');
    // 5 s: the checks below (a CLI start, a route listing, a refused PUT) must fit inside it on a loaded machine
    const applied = await cli('apply', '-f', file, '--confirm-timeout', '5');
    expect(applied.stdout).toContain('unless you run: junction confirm');
    expect(await routes()).toContain('10.77.0.0/16');
    expect((await junction.api('PUT', '/v1/config', demoDoc())).status).toBe(409); // one unconfirmed change at a time
    let reverted = false;
    for (let i = 0; i < 50 && !reverted; i++) {
      await new Promise((r) => setTimeout(r, 300));
      reverted = !(await routes()).includes('10.77.0.0/16');
    }
    expect(reverted).toBe(true);
    const revisions = (await junction.api('GET', '/v1/revisions')).body;
    expect(revisions.current).toBe(before + 2); // the unconfirmed one, then its revert
    expect(revisions.revisions[0].comment).toContain('revert of unconfirmed revision');

    const kept = await junction.api('PUT', '/v1/config?confirm_timeout=30', doc);
    expect(kept.status, kept.text).toBe(200);
    expect(kept.body.pending_confirm.revision).toBe(before + 3);
    expect((await cli('confirm')).stdout).toContain(`confirmed revision ${before + 3}`);
    expect((await junction.api('GET', '/v1/commit')).body.pending_confirm).toBeNull();
    expect(await routes()).toContain('10.77.0.0/16');
  });

  it('requires a token for changes', async () => {
    const before = await ruleset();
    const put = await junction.api('PUT', '/v1/config', demoDoc(), { token: null });
    expect(put.status).toBe(401);
    const wrong = await junction.api('DELETE', '/v1/firewall/policies/a-to-b', undefined, { token: 'jct_wrong' });
    expect(wrong.status).toBe(401);
    expect(await ruleset()).toBe(before);
  });
});
