// Drift by content and counters that survive (issue 8, items 3 and 7), with
// the real `junction serve` and the real kernel in the lab: a set element
// added by hand, a DNAT target changed by hand and a route deleted by hand
// are each reported and repaired by POST /v1/reconcile, a clean system
// reports nothing, and a rule's counter keeps its value across an unrelated
// commit, a restart of Junction, and a commit that creates its run's set anew.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { addressing } from '../lab-kit/topology.js';
import { tcpConnect, tcpListen } from '../lab-kit/traffic.js';
import { requireRoot, uniquePrefix, withLab } from './support/lab-fixture.js';
import { startJunction, type RunningJunction } from './support/junction.js';

const root = requireRoot();
const { vpcs } = addressing;
const demo = readFileSync(fileURLToPath(new URL('../lab-kit/demo.yaml', import.meta.url)), 'utf8');
const demoDoc = () => parseYaml(demo) as Record<string, any>;

describe.skipIf(!root.isRoot)('drift by content, counters that survive', () => {
  const prefix = uniquePrefix('d');
  const lab = withLab({ prefix }, root.isRoot);
  let junction: RunningJunction;

  const nft = async (...args: string[]) => (await lab().exec('router', ['nft', ...args], { check: true })).stdout;
  const routes = async () => (await lab().exec('router', ['ip', 'route', 'show'], { check: true })).stdout;
  const reconcile = async () => {
    const response = await junction.api('POST', '/v1/reconcile');
    expect(response.status, response.text).toBe(200);
    return response.body as { repaired: Record<string, string[]>; errors: Record<string, string> };
  };
  /** A rule's counter as status reports it: the sum of the counters of the set elements it owns. */
  const counter = async (id: string) => {
    const status = await junction.api('GET', '/v1/status');
    const rule = (status.body.firewall.rules as Array<{ id: string; packets: number; bytes: number }>).find((r) => r.id === id);
    expect(rule, `rule ${id} in GET /v1/status`).toBeDefined();
    return rule!;
  };
  /** The counted set that holds a rule's element with this destination and port, and that element as listed. */
  const setWith = async (destination: string, port: number) => {
    type ListedSet = { name: string; elem?: Array<{ elem: { val: unknown } }> };
    const listed = JSON.parse(await nft('-j', 'list', 'sets', 'table', 'inet', 'junction')) as { nftables: Array<{ set?: ListedSet }> };
    for (const { set } of listed.nftables) {
      const element = set?.elem?.find((e) => JSON.stringify(e.elem.val).includes(`"${destination}","tcp",${port}`));
      if (set && element) return { name: set.name, key: element.elem.val };
    }
    throw new Error(`no set holds ${destination} tcp/${port}`);
  };
  /** Every rule with its handle: equal listings mean nothing was deleted and added again. */
  const handles = async () => (await nft('-a', 'list', 'table', 'inet', 'junction')).replace(/packets \d+ bytes \d+/g, '');

  beforeAll(async () => {
    junction = await startJunction(lab());
    const put = await junction.api('PUT', '/v1/config?comment=demo', demo, { contentType: 'application/yaml' });
    expect(put.status, put.text).toBe(200);
  });

  afterAll(async () => {
    await junction?.stop();
    if (junction) rmSync(junction.stateDir, { recursive: true, force: true });
  });

  it('a clean system reports no drift and repairs nothing', async () => {
    const before = await handles();
    expect(await reconcile()).toMatchObject({ repaired: expect.toSatisfy((r: object) => Object.keys(r).length === 0), errors: {} });
    expect(await handles()).toBe(before);
  });

  it('a set element added by hand (a hole to b1:22) is reported and removed', async () => {
    const ssh = await tcpListen(lab(), 'b1', 22);
    try {
      expect(await tcpConnect(lab(), 'a1', vpcs.b.hosts.b1, 22, 1500)).toBe(false);
      // the a-to-db rule's element (b1, tcp/5432) with port 22 instead, in the same set
      const dbSet = await setWith(vpcs.b.hosts.b1, 5432);
      const hole = JSON.parse(JSON.stringify(dbSet.key).replace('"tcp",5432', '"tcp",22')) as unknown;
      // nft cannot read a batch from a socket-backed stdin: a file in Junction's state dir
      const batch = join(junction.stateDir, 'hole.json');
      writeFileSync(batch, JSON.stringify({ nftables: [{ add: { element: { family: 'inet', table: 'junction', name: dbSet.name, elem: [hole] } } }] }));
      await nft('-j', '-f', batch);
      expect(await tcpConnect(lab(), 'a1', vpcs.b.hosts.b1, 22, 1500)).toBe(true); // the hole is real
      const report = await reconcile();
      expect(report.errors).toEqual({});
      expect(report.repaired.firewall).toEqual([expect.stringMatching(new RegExp(`^unexpected: element ${dbSet.name} .*"${vpcs.b.hosts.b1.replace(/\./g, '\\.')}",6,22\\]\\}$`))]);
      expect(await tcpConnect(lab(), 'a1', vpcs.b.hosts.b1, 22, 1500)).toBe(false); // closed again
      expect(await reconcile()).toMatchObject({ repaired: expect.toSatisfy((r: object) => Object.keys(r).length === 0), errors: {} });
    } finally {
      await ssh.close();
    }
  });

  it('a DNAT target changed by hand is reported and put back', async () => {
    const chain = JSON.parse(await nft('-j', 'list', 'chain', 'inet', 'junction', 'nat_prerouting')) as { nftables: Array<{ rule?: { handle: number; comment?: string } }> };
    const handle = chain.nftables.find((o) => o.rule?.comment === 'web-in')!.rule!.handle;
    await nft('replace', 'rule', 'inet', 'junction', 'nat_prerouting', 'handle', String(handle),
      'iifname', 'ccnn0', 'meta', 'nfproto', 'ipv4', 'tcp', 'dport', '8080', 'counter', 'dnat', 'ip', 'to', `${vpcs.a.hosts.a2}:80`, 'comment', '"web-in"');
    expect(await nft('list', 'chain', 'inet', 'junction', 'nat_prerouting')).toContain(`dnat ip to ${vpcs.a.hosts.a2}:80`);
    const report = await reconcile();
    expect(report.errors).toEqual({});
    const lines = report.repaired.firewall;
    expect(lines.some((l) => l.startsWith('missing: rule nat_prerouting "web-in"') && l.includes(`"addr":"${vpcs.a.hosts.a1}"`))).toBe(true);
    expect(lines.some((l) => l.startsWith('unexpected: rule nat_prerouting "web-in"') && l.includes(`"addr":"${vpcs.a.hosts.a2}"`))).toBe(true);
    const repaired = await nft('list', 'chain', 'inet', 'junction', 'nat_prerouting');
    expect(repaired).toContain(`dnat ip to ${vpcs.a.hosts.a1}:80`);
    expect(repaired).not.toContain(vpcs.a.hosts.a2);
  });

  it('a route deleted by hand is reported and added again', async () => {
    await lab().exec('router', ['ip', 'route', 'del', 'default'], { check: true });
    const report = await reconcile();
    expect(report).toMatchObject({ errors: {} });
    expect(report.repaired.routes).toEqual([expect.stringMatching(/^ip -4 route replace 0\.0\.0\.0\/0 via /)]);
    expect(report.repaired.firewall).toBeUndefined();
    expect(await routes()).toMatch(/^default via /m);
  });

  it('counters of unchanged rules survive a commit and a restart of junction serve', async () => {
    const db = await tcpListen(lab(), 'b1', 5432);
    try {
      for (let i = 0; i < 3; i++) expect(await tcpConnect(lab(), 'a1', vpcs.b.hosts.b1, 5432)).toBe(true);
    } finally {
      await db.close();
    }
    const counted = await counter('a-to-db');
    expect(counted.packets).toBeGreaterThanOrEqual(3);

    // an unrelated change: a port forward's port
    const doc = demoDoc();
    doc.nat.port_forwards[0].port = 8081;
    const put = await junction.api('PUT', '/v1/config', doc);
    expect(put.status, put.text).toBe(200);
    expect(put.body.actions.firewall[0]).toMatch(/delta: \+1\/-1 rules, \+0\/-0 elements/);
    expect((await counter('a-to-db')).packets).toBeGreaterThanOrEqual(counted.packets);

    // a restart on the same state dir: boot finds the kernel as wanted and changes nothing
    const before = await handles();
    await junction.stop();
    junction = await startJunction(lab(), { stateDir: junction.stateDir });
    expect((await counter('a-to-db')).packets).toBeGreaterThanOrEqual(counted.packets);
    expect(await handles(), 'boot deleted and added rules again').toBe(before);
    const status = await junction.api('GET', '/v1/status');
    expect(status.body.reconcile.repaired).toEqual({});
    expect(status.body.reconcile.errors).toEqual({});
  });

  it('a rule\'s counter survives its run\'s set being created anew (a rule appended to the run renames it)', async () => {
    const counted = await counter('a-to-db');
    expect(counted.packets).toBeGreaterThanOrEqual(3);
    const doc = demoDoc();
    doc.nat.port_forwards[0].port = 8081; // as committed before
    doc.firewall.policies[0].rules.push({ id: 'a-to-web', action: 'accept', destination: [vpcs.b.hosts.b1], services: ['tcp/443'] });
    const put = await junction.api('PUT', '/v1/config', doc);
    expect(put.status, put.text).toBe(200);
    expect(put.body.actions.firewall).toEqual([expect.stringMatching(/: delta: /), expect.stringMatching(/: 1 element counters carried over$/)]);
    expect((await counter('a-to-db')).packets).toBeGreaterThanOrEqual(counted.packets);
    expect((await counter('a-to-web')).packets).toBe(0);
    expect(await reconcile()).toMatchObject({ repaired: expect.toSatisfy((r: object) => Object.keys(r).length === 0), errors: {} });
  });
});
