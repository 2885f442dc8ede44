// Randomized commits with fault injection, end to end: `junction serve` in
// the lab's router namespace (with an on-prem bird peering over dx0), and
// several concurrent API clients that add, change and remove rules, address
// objects, NAT, static routes, VPN peers and tunnels and BGP neighbors while
// faults strike at random steps:
//   nft      the nft shim (test/support/fault-shim, first in the PATH of the
//            junction process only) refuses a fraction of `nft -j -f` applies
//   charon   kill -9 of the charon Junction started (its pid file), mid-apply
//   bird     kill -9 of the bird Junction started (its pid file), mid-apply
//   junction kill -9 of `junction serve` mid-commit, restarted on the same state dir
// After every step an independent oracle (test/support/fault-oracle.ts, not
// the drivers' drift()) compares the kernel and the daemons with the
// rendering of the current revision, and every revision that was answered
// with a 2xx must still be there (SQLite WAL) with its comment. Items whose
// create/replace/delete got a 2xx must be as the last acknowledged write
// left them (no lost updates).
// FAULT_COMMITS (default 60) bounds the run; FAULT_SEED replays one;
// FAULT_CLIENTS sets the concurrency (default 3). The summary line counts
// commits, faults by kind and divergences.
// Lab safety: no traffic is sent at all; every process is stopped by the pid
// this test started (or that Junction recorded), the lab's namespaces and
// the scratch namespace are deleted in afterAll.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemCommandRunner } from '../../appliance/platform/command-runner.js';
import { ViciClient } from '../../appliance/subsystems/vpn/vici/client.js';
import { createAppliance, type Appliance } from '../../appliance/main/appliance.js';
import type { Capabilities } from '../../appliance/platform/capabilities.js';
import { addressing } from '../lab-kit/topology.js';
import { RecordingCommandRunner } from '../support/recording-runner.js';
import { memoryLogger } from '../support/memory-logger.js';
import {
  addressesDivergence, birdDivergence, birdPidFile, charonDivergence, charonPidFile, nftDivergence, routesDivergence, type OracleTarget,
} from '../support/fault-oracle.js';
import { requireRoot, uniquePrefix, withLab } from './support/lab-fixture.js';
import { startJunction, type RunningJunction } from './support/junction.js';
import { JUNCTION_ASN, ONPREM_ASN, OnpremBird } from './support/onprem-bird.js';
import { seededRandom as prng } from '../support/seeded-random.js';

const root = requireRoot();
const hasBird = spawnSync('bird', ['--version']).status === 0;
const hasCharon = existsSync('/usr/lib/ipsec/charon');
const skipReason = !root.isRoot ? root.reason : !hasBird ? 'bird (bird2) is not installed' : !hasCharon ? 'charon (strongswan-charon) is not installed' : '';
if (skipReason) console.log(`[fault-commits] skipped: ${skipReason}`);

const COMMITS = Number(process.env.FAULT_COMMITS ?? 60);
const CLIENTS = Number(process.env.FAULT_CLIENTS ?? 3);
const SEED = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
const FAULT_RATE = Number(process.env.FAULT_RATE ?? 0.3);
const NFT_FAIL_FRACTION = process.env.FAULT_NFT_FRACTION ?? '0.5';
const SHIM = fileURLToPath(new URL('../support/fault-shim', import.meta.url));
const op = addressing.onprem;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Secrets follow from names, so the oracle can fill in what the API masks.
const pskOf = (peer: string) => `fault-psk-${peer}-0123456789abcdef`;
const passwordOf = (neighbor: string) => `md5-${neighbor}`;

function baseDocument(): Record<string, any> {
  return {
    // the periodic reconcile would repair what the oracle must see: keep it out of the way
    system: { reconcile_interval_s: 86_400 },
    interfaces: [
      { name: 'ccnn0', role: 'ccnn', zone: 'ccnn', addresses: ['100.64.0.2/24'] },
      { name: 'vpc0', role: 'vpc', zone: 'vpc-a', addresses: ['10.1.0.1/24'] },
      { name: 'vpc1', role: 'vpc', zone: 'vpc-b', addresses: ['10.2.0.1/24'] },
      { name: 'dx0', role: 'dx', zone: 'dx', addresses: [`${op.dxRouter}/30`] },
    ],
    zones: [{ name: 'ccnn' }, { name: 'vpc-a' }, { name: 'vpc-b' }, { name: 'dx' }, { name: 'vpn' }],
    objects: { addresses: [{ name: 'web', entries: ['10.2.0.11'] }] },
    firewall: { policies: [{ name: 'a-to-b', from: 'vpc-a', to: 'vpc-b', rules: [{ id: 'a-to-web', action: 'accept', destination: ['web'], services: ['tcp/443'] }] }] },
    nat: { egress: [{ id: 'vpcs-out', sources: ['vpc-a', 'vpc-b'], interface: 'ccnn0', mode: 'masquerade' }], port_forwards: [] },
    routes: { static: [{ id: 'default', destination: '0.0.0.0/0', via: addressing.ccnn.gateway }] },
    vpn: { peers: [{ name: 'site1', remote: op.wan, auth: { method: 'psk', psk: pskOf('site1') }, tunnels: [{ name: 't0', local_subnets: ['10.1.0.0/24'], remote_subnets: [op.lanSubnet], start_action: 'none' }] }] },
    bgp: { asn: JUNCTION_ASN, router_id: op.dxRouter, neighbors: [{ id: 'dx-1', address: op.dxOnprem, remote_asn: ONPREM_ASN, interface: 'dx0', password: passwordOf('dx-1'), import: { prefixes: [{ prefix: op.lanSubnet }] } }] },
  };
}

/** Fills the masked secrets back in (they follow from the names). */
function withSecrets(doc: Record<string, any>): Record<string, any> {
  for (const peer of doc.vpn?.peers ?? []) if (peer.auth?.method === 'psk') peer.auth.psk = pskOf(peer.name);
  for (const n of doc.bgp?.neighbors ?? []) if (n.password !== undefined) n.password = passwordOf(n.id);
  return doc;
}

type FaultKind = 'nft' | 'charon' | 'bird' | 'junction';

/** One API write and what the harness expects of it. */
interface Write {
  tag: string;
  method: string;
  url: string;
  body?: unknown;
  /** the item this write creates, replaces or deletes: "<collection>/<key>" */
  item?: { key: string; present: boolean };
}

interface Acked {
  tag: string;
  revision: number;
  item?: Write['item'];
}

describe.skipIf(!!skipReason)('randomized commits with fault injection: kernel and daemons equal the current revision', () => {
  const prefix = uniquePrefix('f');
  const lab = withLab({ prefix, onprem: true }, !skipReason);
  const runner = new SystemCommandRunner();
  const scratchNs = `${prefix}-scratch`;
  let junction: RunningJunction | undefined;
  let onprem: OnpremBird | undefined;
  let stateDir: string;
  let faultDir: string;
  let workDir: string;
  let renderer: Appliance;

  const startServe = async () => {
    junction = await startJunction(lab(), {
      stateDir,
      env: { PATH: `${SHIM}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`, JUNCTION_FAULT_DIR: faultDir },
    });
  };

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'junction-fault-state-'));
    faultDir = mkdtempSync(join(tmpdir(), 'junction-fault-ctl-'));
    workDir = mkdtempSync(join(tmpdir(), 'junction-fault-work-'));
    const added = await runner.run('ip', ['netns', 'add', scratchNs]);
    expect(added.code, added.stderr).toBe(0);
    onprem = new OnpremBird(lab());
    await onprem.start({ passwords: [passwordOf('dx-1'), undefined] });
    await startServe();
  }, 180_000);

  afterAll(async () => {
    // Only what this test started: the on-prem bird and junction by their pids;
    // junction's charon and bird by the pids it recorded (the lab's teardown ends
    // anything left in its namespaces).
    await onprem?.stop();
    await junction?.stop();
    for (const pidFile of [charonPidFile(stateDir), birdPidFile(stateDir)]) {
      try {
        const pid = Number(readFileSync(pidFile, 'utf8').trim().split(/\s+/)[0]);
        if (pid > 0) process.kill(pid, 'SIGKILL');
      } catch {
        // not running
      }
    }
    renderer?.close();
    await runner.run('ip', ['netns', 'del', scratchNs]);
    for (const dir of [stateDir, faultDir, workDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const api = (method: string, url: string, body?: unknown) => junction!.api(method, url, body);
  let target: OracleTarget;

  /** The oracle's verdict now: the current revision, and how the system differs from its rendering. */
  const divergenceNow = async (): Promise<{ revision: number; problems: string[] }> => {
    const s = await api('GET', '/v1/status');
    const revision = (s.body as { revision: number }).revision;
    const r = await api('GET', `/v1/revisions/${revision}`);
    if (r.status !== 200) return { revision, problems: [`GET /v1/revisions/${revision}: ${r.status}`] };
    const doc = withSecrets((r.body as { document: Record<string, any> }).document);
    const { artifacts } = renderer.reconciler.prepare(doc);
    const problems = [
      ...(await nftDivergence(target, artifacts.get('firewall') as never)),
      ...(await routesDivergence(target, artifacts.get('routes') as never)),
      ...(await addressesDivergence(target, artifacts.get('links') as never)),
      ...(await charonDivergence(target, artifacts.get('vpn') as never)),
      ...(await birdDivergence(target, artifacts.get('bgp') as never)),
    ];
    return { revision, problems };
  };
  /** Daemons restart with a backoff and re-apply: give them a bounded time to get there. */
  const settle = async (windowMs: number) => {
    const deadline = Date.now() + windowMs;
    let last = await divergenceNow();
    while (last.problems.length && Date.now() < deadline) {
      await sleep(500);
      last = await divergenceNow();
    }
    return last;
  };
  /** Puts back a connection unloaded by hand, from the rendering (not through Junction). */
  const reloadConnection = async (name: string) => {
    const s = await api('GET', '/v1/status');
    const r = await api('GET', `/v1/revisions/${(s.body as { revision: number }).revision}`);
    const vpn = renderer.reconciler.prepare(withSecrets((r.body as { document: Record<string, any> }).document)).artifacts.get('vpn') as { connections: Array<{ name: string; config: never }> };
    const vici = await ViciClient.connect(join(stateDir, 'charon', 'charon.vici'));
    try {
      await vici.loadConn(name, vpn.connections.find((c) => c.name === name)!.config);
    } finally {
      vici.close();
    }
  };

  it('the oracle reports drift made by hand (a route, an nft chain, bird.conf, an unloaded charon connection)', async () => {
    const first = await api('PUT', '/v1/config?comment=base', baseDocument());
    expect(first.status, first.text).toBe(200);
    const status = await api('GET', '/v1/status');
    const capabilities = (status.body as { capabilities: Capabilities }).capabilities;
    renderer = createAppliance({ stateDir: workDir, runner: new RecordingCommandRunner(), capabilities, log: memoryLogger(), apiPort: 8080 });
    target = { runner, routerNs: lab().assertNamespace('router'), scratchNs, stateDir, workDir };
    expect((await settle(30_000)).problems).toEqual([]);

    await lab().exec('router', ['ip', 'route', 'add', '10.254.254.0/24', 'dev', 'vpc0', 'proto', '77'], { check: true });
    await lab().exec('router', ['nft', 'add', 'chain', 'inet', 'junction', 'oracle_probe'], { check: true });
    const birdConf = join(stateDir, 'bird', 'bird.conf');
    const birdText = readFileSync(birdConf, 'utf8');
    writeFileSync(birdConf, `${birdText}# edited by hand\n`);
    const vici = await ViciClient.connect(join(stateDir, 'charon', 'charon.vici'));
    await vici.unloadConn('site1');
    vici.close();
    const drifted = (await divergenceNow()).problems.join('\n');
    for (const expected of ['10.254.254.0/24', 'oracle_probe', 'bird.conf on disk differs', 'connection site1 not loaded']) expect(drifted).toContain(expected);

    await lab().exec('router', ['ip', 'route', 'del', '10.254.254.0/24', 'dev', 'vpc0', 'proto', '77'], { check: true });
    await lab().exec('router', ['nft', 'delete', 'chain', 'inet', 'junction', 'oracle_probe'], { check: true });
    writeFileSync(birdConf, birdText);
    await reloadConnection('site1');
    expect((await divergenceNow()).problems).toEqual([]);
  });

  it('POST /v1/reconcile loads a charon connection unloaded by hand again', async () => {
    const vici = await ViciClient.connect(join(stateDir, 'charon', 'charon.vici'));
    await vici.unloadConn('site1');
    vici.close();
    try {
      const repaired = await api('POST', '/v1/reconcile');
      expect(repaired.status, repaired.text).toBe(200);
      expect((await settle(10_000)).problems, `after POST /v1/reconcile answered ${repaired.text}`).toEqual([]);
    } finally {
      // whatever Junction did, the next test starts from the rendering
      if ((await divergenceNow()).problems.length) await reloadConnection('site1');
    }
  });

  it(`${COMMITS} commits from ${CLIENTS} clients with faults: 0 divergences, no acknowledged revision lost`, async () => {
    const rand = prng(SEED);
    console.log(`[fault-commits] seed ${SEED} (FAULT_SEED replays it), ${COMMITS} commits, ${CLIENTS} clients, fault rate ${FAULT_RATE}`);
    expect((await divergenceNow()).problems).toEqual([]);

    // ---- the writes --------------------------------------------------------
    let serial = 0;
    const current = async () => withSecrets(((await api('GET', '/v1/config')).body ?? {}) as Record<string, any>);
    const writers: Array<(tag: string) => Promise<Write | undefined>> = [
      async (tag) => { // add a rule
        const id = `r${++serial}`;
        return { tag, method: 'POST', url: '/v1/firewall/policies/a-to-b/rules', body: { id, action: rand.pick(['accept', 'drop', 'reject']), destination: [rand.pick(['web', `10.2.0.${rand.int(2, 250)}`])], services: [`tcp/${rand.int(1, 65535)}`] }, item: { key: `rule/${id}`, present: true } };
      },
      async (tag) => { // change or remove a rule
        const rules = ((await current()).firewall?.policies?.[0]?.rules ?? []) as Array<{ id: string }>;
        const victim = rules.length ? rand.pick(rules) : undefined;
        if (!victim) return undefined;
        if (rand.next() < 0.5) return { tag, method: 'DELETE', url: `/v1/firewall/policies/a-to-b/rules/${victim.id}`, item: { key: `rule/${victim.id}`, present: false } };
        return { tag, method: 'PUT', url: `/v1/firewall/policies/a-to-b/rules/${victim.id}`, body: { id: victim.id, action: 'accept', source: [`10.1.0.${rand.int(2, 250)}`], services: [`udp/${rand.int(1, 65535)}`] }, item: { key: `rule/${victim.id}`, present: true } };
      },
      async (tag) => ({ tag, method: 'PUT', url: '/v1/objects/addresses/web', body: { name: 'web', entries: Array.from({ length: rand.int(1, 5) }, () => `10.2.0.${rand.int(2, 250)}`) }, item: { key: 'address/web', present: true } }),
      async (tag) => { // address objects come and go
        const objects = ((await current()).objects?.addresses ?? []) as Array<{ name: string }>;
        const spare = objects.filter((o) => o.name !== 'web');
        if (spare.length && rand.next() < 0.5) {
          const victim = rand.pick(spare);
          return { tag, method: 'DELETE', url: `/v1/objects/addresses/${victim.name}`, item: { key: `address/${victim.name}`, present: false } };
        }
        const name = `obj${++serial}`;
        return { tag, method: 'POST', url: '/v1/objects/addresses', body: { name, entries: [`10.1.${rand.int(0, 255)}.0/24`] }, item: { key: `address/${name}`, present: true } };
      },
      async (tag) => { // port forwards
        const forwards = ((await current()).nat?.port_forwards ?? []) as Array<{ id: string }>;
        if (forwards.length && rand.next() < 0.4) {
          const victim = rand.pick(forwards);
          return { tag, method: 'DELETE', url: `/v1/nat/port-forwards/${victim.id}`, item: { key: `pf/${victim.id}`, present: false } };
        }
        const id = `pf${++serial}`;
        return { tag, method: 'POST', url: '/v1/nat/port-forwards', body: { id, interface: 'ccnn0', protocol: rand.pick(['tcp', 'udp']), port: 20_000 + serial, to_address: `10.1.0.${rand.int(2, 250)}`, to_port: rand.int(1, 65535) }, item: { key: `pf/${id}`, present: true } };
      },
      async (tag) => ({ // NAT egress: masquerade or SNAT, fewer or more sources
        tag, method: 'PUT', url: '/v1/nat/egress/vpcs-out',
        body: rand.next() < 0.5
          ? { id: 'vpcs-out', sources: ['vpc-a', 'vpc-b'], interface: 'ccnn0', mode: 'masquerade' }
          : { id: 'vpcs-out', sources: [rand.pick(['vpc-a', 'vpc-b'])], interface: 'ccnn0', mode: 'snat', to_address: addressing.ccnn.router },
        item: { key: 'egress/vpcs-out', present: true },
      }),
      async (tag) => { // static routes
        const routes = ((await current()).routes?.static ?? []) as Array<{ id: string }>;
        const spare = routes.filter((r) => r.id !== 'default');
        if (spare.length && rand.next() < 0.4) {
          const victim = rand.pick(spare);
          return { tag, method: 'DELETE', url: `/v1/routes/static/${victim.id}`, item: { key: `route/${victim.id}`, present: false } };
        }
        const id = `rt${++serial}`;
        const destination = `10.${100 + (serial % 100)}.${serial % 250}.0/24`;
        const body = rand.next() < 0.3 ? { id, destination, blackhole: true } : { id, destination, via: rand.pick([addressing.ccnn.gateway, '10.1.0.254']), metric: rand.int(0, 500) };
        return { tag, method: 'POST', url: '/v1/routes/static', body, item: { key: `route/${id}`, present: true } };
      },
      async (tag) => { // VPN tunnels of site1
        const peers = ((await current()).vpn?.peers ?? []) as Array<{ name: string; tunnels: Array<{ name: string }> }>;
        const site = peers.find((p) => p.name === 'site1');
        if (!site) return undefined;
        if (site.tunnels.length > 1 && rand.next() < 0.4) {
          const victim = rand.pick(site.tunnels.filter((t) => t.name !== 't0'));
          return { tag, method: 'DELETE', url: `/v1/vpn/peers/site1/tunnels/${victim.name}`, item: { key: `tunnel/${victim.name}`, present: false } };
        }
        const name = `t${++serial}`;
        return { tag, method: 'POST', url: '/v1/vpn/peers/site1/tunnels', body: { name, local_subnets: [rand.pick(['10.1.0.0/24', '10.2.0.0/24'])], remote_subnets: [`172.${16 + (serial % 16)}.${serial % 250}.0/24`], start_action: 'none', rekey_time_s: rand.int(600, 7200) }, item: { key: `tunnel/${name}`, present: true } };
      },
      async (tag) => { // VPN peers
        const peers = ((await current()).vpn?.peers ?? []) as Array<{ name: string }>;
        const spare = peers.filter((p) => p.name !== 'site1');
        if (spare.length && rand.next() < 0.5) {
          const victim = rand.pick(spare);
          return { tag, method: 'DELETE', url: `/v1/vpn/peers/${victim.name}`, item: { key: `peer/${victim.name}`, present: false } };
        }
        const name = `p${++serial}`;
        return { tag, method: 'POST', url: '/v1/vpn/peers', body: { name, remote: `198.18.1.${10 + (serial % 200)}`, auth: { method: 'psk', psk: pskOf(name) }, tunnels: [{ name: 'main', local_subnets: ['10.2.0.0/24'], remote_subnets: [`172.${32 + (serial % 16)}.${serial % 250}.0/24`], start_action: 'none' }] }, item: { key: `peer/${name}`, present: true } };
      },
      async (tag) => { // BGP neighbors (multihop ones beside dx-1), and dx-1's hold time
        const neighbors = ((await current()).bgp?.neighbors ?? []) as Array<{ id: string }>;
        const spare = neighbors.filter((n) => n.id !== 'dx-1');
        const roll = rand.next();
        if (roll < 0.3) {
          return { tag, method: 'PUT', url: '/v1/bgp/neighbors/dx-1', body: { id: 'dx-1', address: op.dxOnprem, remote_asn: ONPREM_ASN, interface: 'dx0', password: passwordOf('dx-1'), hold_time: rand.int(9, 240), import: { prefixes: [{ prefix: op.lanSubnet }] } }, item: { key: 'neighbor/dx-1', present: true } };
        }
        if (spare.length && roll < 0.6) {
          const victim = rand.pick(spare);
          return { tag, method: 'DELETE', url: `/v1/bgp/neighbors/${victim.id}`, item: { key: `neighbor/${victim.id}`, present: false } };
        }
        const id = `nb${++serial}`;
        return { tag, method: 'POST', url: '/v1/bgp/neighbors', body: { id, address: `10.250.${serial % 250}.${rand.int(1, 254)}`, remote_asn: 65_100 + (serial % 100), multihop: 2, password: passwordOf(id) }, item: { key: `neighbor/${id}`, present: true } };
      },
    ];

    /** Where an item is in a document: the keys the writes use. */
    const itemsOf = (doc: Record<string, any>): Set<string> => new Set([
      ...(doc.firewall?.policies?.[0]?.rules ?? []).map((r: { id: string }) => `rule/${r.id}`),
      ...(doc.objects?.addresses ?? []).map((o: { name: string }) => `address/${o.name}`),
      ...(doc.nat?.port_forwards ?? []).map((f: { id: string }) => `pf/${f.id}`),
      ...(doc.nat?.egress ?? []).map((e: { id: string }) => `egress/${e.id}`),
      ...(doc.routes?.static ?? []).map((r: { id: string }) => `route/${r.id}`),
      ...(doc.vpn?.peers ?? []).flatMap((p: { name: string; tunnels: Array<{ name: string }> }) => [`peer/${p.name}`, ...(p.name === 'site1' ? p.tunnels.map((t) => `tunnel/${t.name}`) : [])]),
      ...(doc.bgp?.neighbors ?? []).map((n: { id: string }) => `neighbor/${n.id}`),
    ]);

    // ---- the run -----------------------------------------------------------
    // nft counts refused applies; the others count kills
    const faults: Record<FaultKind, number> = { nft: 0, charon: 0, bird: 0, junction: 0 };
    const statuses: Record<string, number> = {};
    const acked: Acked[] = [];
    const divergences: string[] = [];
    const lostRevisions: string[] = [];
    const lostUpdates: string[] = [];
    let commits = 0;
    let attempts = 0;
    let step = 0;
    const killFromPidFile = (file: string): boolean => {
      try {
        const pid = Number(readFileSync(file, 'utf8').trim().split(/\s+/)[0]);
        if (!(pid > 0)) return false;
        process.kill(pid, 'SIGKILL');
        return true;
      } catch {
        return false;
      }
    };
    const checkRevisions = async (which: Acked[]) => {
      for (const a of which) {
        const r = await api('GET', `/v1/revisions/${a.revision}`);
        const comment = (r.body as { comment?: string }).comment;
        if (r.status !== 200 || comment !== a.tag) lostRevisions.push(`revision ${a.revision} (${a.tag}): ${r.status} ${comment ?? ''}`);
      }
    };

    const startedAt = Date.now();
    while (attempts < COMMITS) {
      step++;
      const fault: FaultKind | undefined = rand.next() < FAULT_RATE ? rand.pick(['nft', 'charon', 'bird', 'junction'] as const) : undefined;
      const planned: Write[] = [];
      for (let c = 0; c < CLIENTS && attempts + planned.length < COMMITS; c++) {
        const write = await rand.pick(writers)(`s${step}c${c}`);
        if (write) planned.push(write);
      }
      if (!planned.length) continue;
      attempts += planned.length;
      const uncertain = new Set<string>();
      if (fault === 'nft') writeFileSync(join(faultDir, 'nft-fail-fraction'), NFT_FAIL_FRACTION);
      const inFlight = planned.map(async (w) => {
        const sep = w.url.includes('?') ? '&' : '?';
        try {
          const r = await api(w.method, `${w.url}${sep}comment=${encodeURIComponent(w.tag)}`, w.body);
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          const revision = (r.body as { revision?: { id: number } })?.revision?.id;
          if (r.status >= 200 && r.status < 300 && revision !== undefined) acked.push({ tag: w.tag, revision, item: w.item });
          if (r.status >= 500 && fault === undefined) divergences.push(`step ${step}: ${w.method} ${w.url} answered ${r.status} without a fault: ${r.text.slice(0, 300)}`);
        } catch (error) {
          statuses.error = (statuses.error ?? 0) + 1;
          // cut off by a kill: it may or may not have been committed
          if (w.item) uncertain.add(w.item.key);
          if (fault !== 'junction') divergences.push(`step ${step}: ${w.method} ${w.url} failed: ${(error as Error).message}`);
        }
      });
      let struck = false;
      if (fault === 'charon' || fault === 'bird' || fault === 'junction') {
        await sleep(rand.int(0, fault === 'junction' ? 600 : 300));
        if (fault === 'charon') struck = killFromPidFile(charonPidFile(stateDir));
        if (fault === 'bird') struck = killFromPidFile(birdPidFile(stateDir));
        if (fault === 'junction') {
          junction!.process.kill('SIGKILL');
          await junction!.process.exited;
          struck = true;
        }
      }
      await Promise.all(inFlight);
      if (fault === 'nft') {
        writeFileSync(join(faultDir, 'nft-fail-fraction'), '0');
        struck = existsSync(join(faultDir, 'nft-rejects.log')) && readFileSync(join(faultDir, 'nft-rejects.log'), 'utf8').trim().split('\n').length > faults.nft;
      }
      if (fault && struck) faults[fault] = fault === 'nft' ? readFileSync(join(faultDir, 'nft-rejects.log'), 'utf8').trim().split('\n').length : faults[fault] + 1;
      if (fault === 'junction') {
        await startServe();
        await checkRevisions(acked);
      }
      const verdict = await settle(fault === 'charon' || fault === 'bird' || fault === 'junction' ? 30_000 : 5_000);
      if (verdict.problems.length) {
        divergences.push(`step ${step} (fault ${fault ?? 'none'}), revision ${verdict.revision}: ${verdict.problems.slice(0, 5).join(' | ')}`);
      }
      // No lost updates: each item touched in this step is as its last acknowledged write left it.
      const stepAcked = acked.filter((a) => a.tag.startsWith(`s${step}c`) && a.item).sort((a, b) => a.revision - b.revision);
      if (stepAcked.length) {
        const doc = (await api('GET', `/v1/revisions/${verdict.revision}`)).body as { document: Record<string, any> };
        const present = itemsOf(doc.document ?? {});
        const last = new Map(stepAcked.map((a) => [a.item!.key, a]));
        for (const [key, a] of last) {
          if (uncertain.has(key)) continue;
          if (present.has(key) !== a.item!.present) lostUpdates.push(`step ${step}: ${key} should be ${a.item!.present ? 'present' : 'absent'} after revision ${a.revision} (${a.tag}), revision ${verdict.revision} says otherwise`);
        }
      }
      commits = acked.length;
      if (step % 10 === 0) console.log(`[fault-commits] step ${step}: ${attempts} writes, ${commits} acknowledged, faults ${JSON.stringify(faults)}, divergences ${divergences.length}, ${Math.round((Date.now() - startedAt) / 1000)} s`);
    }
    await checkRevisions(acked);

    const summary = `[fault-commits] seed ${SEED}: ${attempts} writes, ${commits} commits acknowledged, statuses ${JSON.stringify(statuses)}, faults ${JSON.stringify(faults)}, divergences ${divergences.length}, lost revisions ${lostRevisions.length}, lost updates ${lostUpdates.length}, ${Math.round((Date.now() - startedAt) / 1000)} s`;
    console.log(summary);
    for (const line of [...divergences, ...lostRevisions, ...lostUpdates].slice(0, 30)) console.log(`[fault-commits]   ${line}`);
    expect(commits).toBeGreaterThan(0);
    expect(divergences, summary).toEqual([]);
    expect(lostRevisions, summary).toEqual([]);
    expect(lostUpdates, summary).toEqual([]);
  }, Math.max(240_000, COMMITS * 6_000));
});
