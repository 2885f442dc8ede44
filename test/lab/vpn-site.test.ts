// IPsec site-to-site end to end: the real `junction serve` in the lab's router
// namespace runs its own charon (the VPN subsystem), configured only through the
// API; the on-prem site (ns onprem) runs a second, independent charon loaded
// with the `strongswan` remote config that Junction generates
// (GET /v1/vpn/peers/{name}/remote-config), with the LAN host onprem-lan
// (192.168.50.11) behind it. All traffic starts in lab namespaces; every
// wait is bounded; charons are stopped by pid and the lab is removed even
// when a test fails.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { fileURLToPath } from 'node:url';
import { addressing } from '../lab-kit/topology.js';
import { ping, tcpConnect, tcpListen } from '../lab-kit/traffic.js';
import { CharonProcess, DEFAULT_CHARON_BINARY } from '../../appliance/subsystems/vpn/charon-process.js';
import { charonPaths } from '../../appliance/subsystems/vpn/strongswan-conf.js';
import { renderVpn } from '../../appliance/subsystems/vpn/render.js';
import { ViciClient, ViciSection } from '../../appliance/subsystems/vpn/vici/index.js';
import { NO_CAPABILITIES } from '../../appliance/platform/capabilities.js';
import { requireRoot, uniquePrefix, withLab } from './support/lab-fixture.js';
import { startJunction, type RunningJunction } from './support/junction.js';
import { waitFor } from './../lab-kit/wait.js';
import { settledSaCounts } from './support/sa-counts.js';
import { sleep } from '../../appliance/platform/sleep.js';
import { CHARON_TOOLS, requireTools } from './support/tools.js';
import { labDataplane } from './support/dataplane.js';

const root = requireRoot();
requireTools('vpn-site', root.isRoot, [
  ...CHARON_TOOLS,
  { program: 'swanctl', pkg: 'strongswan-swanctl' },
  { program: 'openssl', pkg: 'openssl' },
  { program: 'tcpdump', pkg: 'tcpdump' },
  { program: 'iperf3', pkg: 'iperf3' },
]);
const skipReason = root.reason;
if (skipReason) console.log(`[vpn-site] skipped: ${skipReason}`);
// libipsec here; xfrm where the kernel has it (npm run test:xfrm)
const plane = skipReason ? { dataplane: 'libipsec' as const, tunnelInterface: 'ipsec0' } : await labDataplane();
const xfrm = plane.dataplane === 'xfrm';
/** kernel data plane only: Junction routes each remote subnet into xfrm0 itself (libipsec: charon does, in table 220) */
const tunnelRoutes = (verb: 'replace' | 'del', subnets: string[]) => (xfrm ? subnets.map((s) => `ip -4 route ${verb} ${s}${verb === 'replace' ? ' dev xfrm0' : ''} proto 78`) : []);

const { vpcs, onprem } = addressing;
const PSK = 'vpn-site-lab-psk-0123456789abcdef';
const demo = readFileSync(fileURLToPath(new URL('../lab-kit/demo.yaml', import.meta.url)), 'utf8');

/** Polls until probe returns a truthy value; throws after timeoutMs. */

/** The base document: the demo plus the vpn zone and the policies that decide tunnel traffic. */
function baseDoc(): Record<string, any> {
  const doc = parseYaml(demo) as Record<string, any>;
  doc.zones.push({ name: 'vpn', description: 'traffic through IPsec tunnels' });
  doc.firewall.policies.push(
    { name: 'a-to-vpn', from: 'vpc-a', to: 'vpn', rules: [{ id: 'a-to-onprem', action: 'accept' }] },
    { name: 'b-to-vpn', from: 'vpc-b', to: 'vpn', rules: [{ id: 'b-to-onprem', action: 'accept' }] },
    // on-prem may open only tcp/5001 on VPC a; everything else from the tunnel is dropped
    { name: 'vpn-to-a', from: 'vpn', to: 'vpc-a', rules: [{ id: 'onprem-to-app', action: 'accept', services: ['tcp/5001'] }] },
  );
  return doc;
}

function pskPeer(): Record<string, any> {
  return {
    name: 'onprem',
    remote: onprem.wan,
    auth: { method: 'psk', psk: PSK },
    dpd_delay_s: 2,
    tunnels: [{ name: 'lan', local_subnets: ['10.1.0.0/25'], remote_subnets: [onprem.lanSubnet] }],
  };
}

describe.skipIf(!!skipReason)('IPsec site-to-site through junction serve (lab)', () => {
  const prefix = uniquePrefix('v');
  const lab = withLab({ prefix, onprem: true }, !skipReason);
  const work = skipReason ? '' : mkdtempSync(path.join(tmpdir(), 'jnvpn-'));
  let junction: RunningJunction;
  let onpremCharon: CharonProcess;
  let currentRemoteConfig = '';
  const junctionCharonPids = new Set<number>();

  const api = (method: string, url: string, body?: unknown) => junction.api(method, url, body);
  const status = async () => {
    const s = (await api('GET', '/v1/vpn/status')).body;
    if (s.charon?.pid) junctionCharonPids.add(s.charon.pid);
    return s;
  };
  const tunnel = async (peer: string, name: string) => (await status()).peers.find((p: any) => p.name === peer)?.tunnels.find((t: any) => t.name === name);
  const tunnelUp = async (peer: string, name: string) => {
    const t = await tunnel(peer, name);
    return t?.state === 'up' ? t : undefined;
  };
  const swanctl = (...args: string[]) =>
    lab().exec('onprem', ['swanctl', ...args, '--uri', `unix://${onpremCharon.socketPath}`], { timeoutMs: 30_000 });

  /** Loads the on-prem charon from Junction's generated swanctl.conf (plus certificate files, if any). */
  async function loadOnprem(peer: string, files: Record<string, string> = {}): Promise<void> {
    const generated = await api('GET', `/v1/vpn/peers/${peer}/remote-config?format=strongswan`);
    expect(generated.status, generated.text).toBe(200);
    const dir = path.join(work, 'onprem-swanctl');
    rmSync(dir, { recursive: true, force: true });
    for (const sub of ['x509', 'x509ca', 'x509ocsp', 'x509aa', 'x509ac', 'x509crl', 'pubkey', 'private', 'rsa', 'ecdsa', 'bliss', 'pkcs8', 'pkcs12']) mkdirSync(path.join(dir, sub), { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text, { mode: 0o600 });
    currentRemoteConfig = path.join(dir, 'swanctl.conf');
    writeFileSync(currentRemoteConfig, generated.text, { mode: 0o600 });
    const load = await swanctl('--load-all', '--noprompt', '--file', currentRemoteConfig);
    expect(load.code, load.stdout + load.stderr).toBe(0);
  }

  /** a1 opens TCP to the on-prem LAN host, which sees a1's own address: routed through the tunnel, not NATed. */
  async function expectTcpToOnprem(): Promise<void> {
    const listener = await tcpListen(lab(), 'onprem-lan', 5001);
    try {
      expect(await tcpConnect(lab(), 'a1', onprem.lanHost, 5001)).toBe(true);
      expect((await listener.waitForPeer()).address).toBe(vpcs.a.hosts.a1);
    } finally {
      await listener.close();
    }
  }

  /** Initiates from Junction's side through the API until the tunnel is up (the on-prem side may still be loading). */
  async function bringUp(peer: string, name: string, timeoutMs = 30_000): Promise<any> {
    return waitFor(`${peer}/${name} up`, async () => {
      const up = await tunnelUp(peer, name);
      if (up) return up;
      await api('POST', `/v1/vpn/peers/${peer}/tunnels/${name}/initiate?timeout_ms=5000`);
      return tunnelUp(peer, name);
    }, timeoutMs, 500);
  }

  /** Exactly one IKE_SA for the peer and one CHILD_SA per tunnel, on Junction's charon and on the on-prem one, once settled. */
  async function expectOneSaEach(tunnels: string[], when: string): Promise<void> {
    const sides = [
      { socket: charonPaths(path.join(junction.stateDir, 'charon')).socket, conn: 'onprem' },
      { socket: onpremCharon.socketPath, conn: 'junction-onprem' },
    ];
    const [mine, theirs] = await settledSaCounts(sides, tunnels, 20_000, 4_000);
    const one = { ike: 1, children: Object.fromEntries(tunnels.map((t) => [t, 1])) };
    console.log(`[vpn-site] SAs ${when}: Junction ${JSON.stringify(mine)}, on-prem ${JSON.stringify(theirs)}`);
    expect(mine, `Junction's charon ${when}`).toEqual(one);
    expect(theirs, `on-prem charon ${when}`).toEqual(one);
  }

  beforeAll(async () => {
    junction = await startJunction(lab());
    const put = await api('PUT', '/v1/config?comment=base', baseDoc());
    expect(put.status, put.text).toBe(200);
    onpremCharon = new CharonProcess({ stateDir: path.join(work, 'onprem-charon'), dataplane: plane.dataplane, netns: lab().nsName('onprem'), restartBackoff: { initialMs: 200, maxMs: 1000 } });
    await onpremCharon.start();
    // the on-prem site re-loads its own config when its charon comes back, like a real gateway at boot
    onpremCharon.onRestart(async () => {
      if (currentRemoteConfig) await swanctl('--load-all', '--noprompt', '--file', currentRemoteConfig);
    });
    // two more on-prem networks for the multi-subnet selectors
    await lab().exec('onprem', ['ip', 'addr', 'add', '192.168.60.1/24', 'dev', 'lo'], { check: true });
    await lab().exec('onprem', ['ip', 'addr', 'add', '192.168.61.1/24', 'dev', 'lo'], { check: true });
  });

  afterAll(async () => {
    await onpremCharon?.stop().catch(() => undefined);
    try {
      const s = junction ? await status().catch(() => undefined) : undefined;
      if (s?.charon?.pid) junctionCharonPids.add(s.charon.pid);
    } finally {
      await junction?.stop();
      // junction stops its charon on SIGTERM; make sure no charon of ours outlives the test
      await sleep(500);
      for (const pid of junctionCharonPids) {
        try {
          process.kill(pid, 0);
          process.kill(pid, 'SIGKILL');
          console.log(`[vpn-site] killed leftover junction charon ${pid}`);
        } catch {
          // gone, as it should be
        }
      }
      if (junction && !process.env.JUNCTION_KEEP_LAB) rmSync(junction.stateDir, { recursive: true, force: true });
      if (work && !process.env.JUNCTION_KEEP_LAB) rmSync(work, { recursive: true, force: true });
    }
  });

  it('IKEv2 PSK: the tunnel comes up, TCP crosses it both ways as policy allows, and the wire shows only ESP', async () => {
    const events: string[] = [];
    const stream = openEvents(junction.stateDir, (event, data) => events.push(`${event} ${data.peer}/${data.tunnel ?? ''} ${data.up ?? ''}`));
    try {
      const post = await api('POST', '/v1/vpn/peers', pskPeer());
      expect(post.status, post.text).toBe(201);
      expect(post.body.actions.vpn).toEqual(expect.arrayContaining([`start charon (${plane.dataplane})`, 'load-shared psk-onprem (owners 100.64.0.2, 198.18.1.2)', 'load-conn onprem']));
      await loadOnprem('onprem');
      const up = await bringUp('onprem', 'lan');
      const s = await status();
      expect(s.dataplane).toMatchObject({ dataplane: plane.dataplane, tunnel_interface: plane.tunnelInterface, zone: 'vpn' });
      const peer = s.peers[0];
      expect(peer).toMatchObject({ name: 'onprem', state: 'ESTABLISHED', ike_version: 2, remote_id: onprem.wan });
      expect(peer.algorithms).toMatch(/^AES_GCM_16-256\/PRF_HMAC_SHA2_384\/ECP_384$/);
      expect(up.sas[0].algorithms).toMatch(/^AES_GCM_16-256/);
      expect(up.sas[0].spi_in).toMatch(/^[0-9a-f]{8}$/);
      console.log(`[vpn-site] IKE ${peer.algorithms} ${peer.local} <-> ${peer.remote}; ESP ${up.sas[0].algorithms}, SPIs in ${up.sas[0].spi_in} out ${up.sas[0].spi_out}, encap ${up.sas[0].encap}`);

      // VPC host -> on-prem LAN host: routed (not NATed) through the tunnel
      await expectTcpToOnprem();
      // on-prem -> VPC: only tcp/5001 (policy vpn-to-a)
      const app = await tcpListen(lab(), 'a1', 5001);
      const other = await tcpListen(lab(), 'a1', 5002);
      try {
        expect(await tcpConnect(lab(), 'onprem-lan', vpcs.a.hosts.a1, 5001)).toBe(true);
        expect((await app.waitForPeer()).address).toBe(onprem.lanHost);
        expect(await tcpConnect(lab(), 'onprem-lan', vpcs.a.hosts.a1, 5002, 1500)).toBe(false);
        expect(other.peers()).toHaveLength(0);
      } finally {
        await Promise.all([app.close(), other.close()]);
      }

      // visibly ESP: SA counters move, and a capture on the on-prem WAN sees ESP (or ESP-in-UDP) only
      const before = await tunnel('onprem', 'lan');
      const capture = lab().spawn('onprem', ['timeout', '8', 'tcpdump', '-l', '-n', '-i', 'wan0', '-c', '6', 'host', addressing.ccnn.router]);
      await sleep(1000);
      expect((await ping(lab(), 'a1', onprem.lanHost, { count: 5, timeoutS: 5 })).received).toBe(5);
      await capture.exited;
      const wire = capture.stdout();
      expect(wire).toMatch(/ESP\(spi=0x/);
      expect(wire).not.toMatch(/ICMP echo/);
      const after = await tunnel('onprem', 'lan');
      expect(after.packets_out - before.packets_out).toBeGreaterThanOrEqual(5);
      expect(after.packets_in - before.packets_in).toBeGreaterThanOrEqual(5);
      expect(after.bytes_out).toBeGreaterThan(before.bytes_out);
      console.log(`[vpn-site] on the wire:\n${wire.trim().split('\n').slice(0, 3).join('\n')}`);

      await waitFor('child-updown event on /v1/vpn/events', async () => events.some((e) => e.startsWith('child-updown onprem/lan true')), 5_000);
    } finally {
      stream.close();
    }
    expect(stream.closedCleanly()).toBe(true);
  });

  it('re-applying the same document makes no VICI write; the PSK never leaves or gets logged', async () => {
    const doc = (await api('GET', '/v1/config')).body;
    expect(JSON.stringify(doc)).not.toContain(PSK);
    expect(doc.vpn.peers[0].auth.psk).toBe('********');
    const put = await api('PUT', '/v1/config', doc); // the mask keeps the stored PSK
    expect(put.status, put.text).toBe(200);
    expect(put.body.changed).toBe(false);
    expect(put.body.actions.vpn).toEqual([]);
    expect(JSON.stringify(put.body)).not.toContain(PSK);
    const reconcile = await api('POST', '/v1/reconcile');
    expect(reconcile.body.repaired.vpn).toBeUndefined();
    expect(readFileSync(path.join(junction.stateDir, 'junction.log'), 'utf8')).not.toContain(PSK);
    expect(readFileSync(path.join(junction.stateDir, 'charon', 'charon.log'), 'utf8')).not.toContain(PSK);
  });

  it('a connection loaded over VICI by hand with other settings is drift, and reconcile loads the configured one again', async () => {
    const doc = (await api('GET', '/v1/config')).body;
    const dataplane = (await status()).dataplane.dataplane;
    const rendered = renderVpn(doc, { ...NO_CAPABILITIES, xfrmEsp: dataplane === 'xfrm' }).connections.find((c) => c.name === 'onprem')!;
    const byHand = new ViciSection(rendered.config.entries.map(([key, value]) => [key, key === 'dpd_delay' ? '30s' : value]));
    const operator = await ViciClient.connect(charonPaths(path.join(junction.stateDir, 'charon')).socket);
    try {
      await operator.loadConn('onprem', byHand);
    } finally {
      operator.close();
    }
    const found = await api('POST', '/v1/reconcile');
    expect(found.body.repaired?.vpn, JSON.stringify(found.body)).toEqual(['connection onprem: dpd_delay is 30, configured 2']);
    const again = await api('POST', '/v1/reconcile');
    expect(again.body.repaired?.vpn, JSON.stringify(again.body)).toBeUndefined();
    await bringUp('onprem', 'lan');
  });

  it('two subnets each side; changing one tunnel does not interrupt another', async () => {
    // overlaps "lan" locally, but every (local, remote) pair is distinct
    const multi = { name: 'multi', local_subnets: ['10.2.0.0/24', '10.1.0.0/24'], remote_subnets: ['192.168.60.0/24', '192.168.61.0/24'] };
    const post = await api('POST', '/v1/vpn/peers/onprem/tunnels', multi);
    expect(post.status, post.text).toBe(201);
    expect(post.body.actions.vpn).toEqual([
      ...tunnelRoutes('replace', ['192.168.60.0/24', '192.168.61.0/24']),
      'ip -4 route replace unreachable 192.168.60.0/24 metric 2147483647 proto 78',
      'ip -4 route replace unreachable 192.168.61.0/24 metric 2147483647 proto 78',
      'load-conn onprem (tunnels updated in place: multi)',
    ]);
    await loadOnprem('onprem');
    const up = await bringUp('onprem', 'multi');
    expect(up.sas[0].local_ts).toEqual(['10.1.0.0/24', '10.2.0.0/24']);
    expect(up.sas[0].remote_ts).toEqual(['192.168.60.0/24', '192.168.61.0/24']);
    // every local subnet to every remote subnet
    for (const [from, target] of [['b1', '192.168.60.1'], ['b1', '192.168.61.1'], ['a1', '192.168.60.1'], ['a1', '192.168.61.1']] as const) {
      expect((await ping(lab(), from, target, { count: 2, timeoutS: 4 })).reachable, `${from} -> ${target}`).toBe(true);
    }

    const lanBefore = await tunnelUp('onprem', 'lan');
    expect(lanBefore).toBeTruthy();
    // a steady ping through "lan" while "multi" changes its selectors
    const pinger = lab().exec('a1', ['ping', '-n', '-q', '-i', '0.05', '-c', '100', '-W', '1', onprem.lanHost], { timeoutMs: 30_000 });
    await sleep(1000);
    const put = await api('PUT', '/v1/vpn/peers/onprem/tunnels/multi', { ...multi, remote_subnets: ['192.168.60.0/24'] });
    expect(put.status, put.text).toBe(200);
    expect(put.body.actions.vpn).toEqual([...tunnelRoutes('del', ['192.168.61.0/24']), 'ip -4 route del unreachable 192.168.61.0/24 metric 2147483647 proto 78', 'load-conn onprem (tunnels updated in place: multi)']);
    const result = await pinger;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(result.stdout);
    expect(m && Number(m[2]), result.stdout).toBe(100);
    const lanAfter = await tunnelUp('onprem', 'lan');
    expect(lanAfter.sas.map((s: any) => s.spi_in)).toContain(lanBefore.sas[0].spi_in); // same CHILD_SA
    const multiAfter = await bringUp('onprem', 'multi');
    expect(multiAfter.sas.find((s: any) => s.state === 'INSTALLED').remote_ts).toEqual(['192.168.60.0/24']);
    expect((await ping(lab(), 'b1', '192.168.60.1', { count: 2, timeoutS: 4 })).reachable).toBe(true);
  });

  it('terminates and initiates a tunnel from the API; an always-on tunnel comes back by itself', async () => {
    const before = await tunnelUp('onprem', 'multi');
    const term = await api('POST', '/v1/vpn/peers/onprem/tunnels/multi/terminate');
    expect(term.status, term.text).toBe(200);
    expect(term.body.terminated).toBeGreaterThanOrEqual(1);
    expect((await tunnel('onprem', 'multi'))?.sas.some((s: any) => s.spi_in === before.sas[0].spi_in && s.state === 'INSTALLED')).toBeFalsy();
    expect(await tunnelUp('onprem', 'lan')).toBeTruthy();
    // start_action start: Junction brings it back after the events settle, with no API call
    const back = await waitFor('multi back by itself', async () => {
      const t = await tunnelUp('onprem', 'multi');
      return t && !t.sas.some((s: any) => s.spi_in === before.sas[0].spi_in) ? t : undefined;
    }, 15_000, 250);
    expect(back.sas[0].spi_in).not.toBe(before.sas[0].spi_in);
    // initiate on a tunnel that is up is a no-op, not a second CHILD_SA
    const again = await api('POST', '/v1/vpn/peers/onprem/tunnels/multi/initiate');
    expect(again.status, again.text).toBe(200);
    expect(again.body).toMatchObject({ initiated: false, up: true });
    expect((await tunnelUp('onprem', 'multi')).sas.filter((s: any) => s.state === 'INSTALLED').length).toBe(1);
    expect((await api('POST', '/v1/vpn/peers/onprem/tunnels/nope/initiate')).status).toBe(404);
  });

  it('changing or removing a tunnel that charon does not restart itself (start_action none) closes its old CHILD_SA', async () => {
    const onpremChildren = async (name: string) => {
      const out = await swanctl('--list-sas');
      return out.stdout.split('\n').filter((l) => new RegExp(`^\\s+${name}: #\\d+.*INSTALLED`).test(l)).length;
    };
    const manual = { name: 'manual', local_subnets: ['10.2.0.0/24'], remote_subnets: ['192.168.61.0/24'], start_action: 'none' };
    const post = await api('POST', '/v1/vpn/peers/onprem/tunnels', manual);
    expect(post.status, post.text).toBe(201);
    await loadOnprem('onprem');
    const up = await bringUp('onprem', 'manual');
    expect(up.sas[0].remote_ts).toEqual(['192.168.61.0/24']);
    expect((await ping(lab(), 'b1', '192.168.61.1', { count: 2, timeoutS: 4 })).reachable).toBe(true);

    // new selectors: the SA negotiated under the old ones must not keep carrying traffic
    const put = await api('PUT', '/v1/vpn/peers/onprem/tunnels/manual', { ...manual, remote_subnets: ['192.168.61.0/25'] });
    expect(put.status, put.text).toBe(200);
    expect(put.body.actions.vpn.some((a: string) => a.startsWith('close CHILD_SA onprem/manual #')), JSON.stringify(put.body.actions.vpn)).toBe(true);
    await waitFor('old manual SA gone on both sides', async () => !(await tunnelUp('onprem', 'manual')) && (await onpremChildren('manual')) === 0, 10_000);
    expect(await tunnelUp('onprem', 'lan'), 'lan untouched').toBeTruthy();
    await loadOnprem('onprem');
    const again = await bringUp('onprem', 'manual');
    expect(again.sas.find((s: any) => s.state === 'INSTALLED').remote_ts).toEqual(['192.168.61.0/25']);

    // removed: closed at once, on both sides
    const del = await api('DELETE', '/v1/vpn/peers/onprem/tunnels/manual');
    expect(del.status, del.text).toBeLessThan(300);
    expect(del.body.actions.vpn.some((a: string) => a.startsWith('close CHILD_SA onprem/manual #')), JSON.stringify(del.body.actions.vpn)).toBe(true);
    await waitFor('manual gone on the on-prem side', async () => (await onpremChildren('manual')) === 0, 10_000);
    expect((await ping(lab(), 'b1', '192.168.61.1', { count: 1, timeoutS: 2 })).reachable).toBe(false);
    expect(await tunnelUp('onprem', 'lan'), 'lan untouched').toBeTruthy();
    expect(await tunnelUp('onprem', 'multi'), 'multi untouched').toBeTruthy();
  });

  const RECOVERY_S = 45;
  it(`with two tunnels up, recovers both by itself within ${RECOVERY_S} s when the on-prem charon is killed and restarted (its INITIAL_CONTACT or DPD; always-on tunnels are brought back)`, async () => {
    // each tunnel's own traffic must flow again: a policy/SA mix-up between
    // the tunnels (one tunnel's packets sent under the other's SPI) fails here
    const probes = [
      { tunnel: 'lan', from: 'a1', to: onprem.lanHost },
      { tunnel: 'multi', from: 'b1', to: '192.168.60.1' },
    ] as const;
    const before = new Map<string, any>();
    for (const p of probes) {
      before.set(p.tunnel, await bringUp('onprem', p.tunnel));
      expect((await ping(lab(), p.from, p.to, { count: 2, timeoutS: 4 })).reachable, `${p.tunnel} before the restart`).toBe(true);
    }
    const oldPid = onpremCharon.pid!;
    const started = Date.now();
    process.kill(oldPid, 'SIGKILL');
    await waitFor('on-prem charon restarted', async () => onpremCharon.pid && onpremCharon.pid !== oldPid, 10_000);
    const deadline = started + RECOVERY_S * 1000;
    const left = () => Math.max(1000, deadline - Date.now());
    for (const p of probes) {
      const oldSpis = new Set(before.get(p.tunnel).sas.map((s: any) => s.spi_in));
      const recovered = await waitFor(`${p.tunnel} re-established with new SAs`, async () => {
        const t = await tunnelUp('onprem', p.tunnel);
        return t && !t.sas.some((s: any) => oldSpis.has(s.spi_in)) ? t : undefined;
      }, left(), 500);
      // recovered means this tunnel's traffic passes again, within the same overall bound
      await waitFor(`traffic through ${p.tunnel} again (${p.from} -> ${p.to})`, async () => (await ping(lab(), p.from, p.to, { count: 2, timeoutS: 2 })).reachable, left(), 200);
      console.log(`[vpn-site] on-prem charon restart: ${p.tunnel} back after ${((Date.now() - started) / 1000).toFixed(1)} s (new SPI ${recovered.sas[0].spi_in}), with no API call`);
    }
    // and both still pass once both are back (the later one did not take over the earlier one's traffic)
    for (const p of probes) expect((await ping(lab(), p.from, p.to, { count: 3, timeoutS: 4 })).received, `${p.tunnel} after recovery`).toBeGreaterThanOrEqual(2);
    // libipsec picks the outbound SA by the policy's reqid: the tunnels must not share one
    const reqids = async (name: string) => new Set<number>((await tunnelUp('onprem', name)).sas.map((s: { reqid: number }) => s.reqid));
    const [lanReqids, multiReqids] = [await reqids('lan'), await reqids('multi')];
    expect([...lanReqids].filter((r) => multiReqids.has(r)), `lan ${[...lanReqids]} multi ${[...multiReqids]}`).toEqual([]);
    expect([...lanReqids, ...multiReqids].every((r) => Number.isInteger(r) && r > 0)).toBe(true);
    await expectOneSaEach(['lan', 'multi'], 'after the on-prem reboot');
  });

  it('a DPD event (the path between the gateways cut for longer than DPD waits) ends with one IKE_SA and one CHILD_SA per tunnel on both sides', async () => {
    for (const name of ['lan', 'multi']) await bringUp('onprem', name);
    const before = await tunnelUp('onprem', 'lan');
    // the internet namespace drops everything to and from the on-prem WAN (lab traffic only)
    const cut = ['add table inet vpnlabcut', 'add chain inet vpnlabcut cut { type filter hook forward priority 0 ; }', `add rule inet vpnlabcut cut ip saddr ${onprem.wan} drop`, `add rule inet vpnlabcut cut ip daddr ${onprem.wan} drop`];
    try {
      for (const command of cut) await lab().exec('inet', ['nft', ...command.split(' ')], { check: true });
      // dpd_delay 2 s, then Junction's retransmissions give up after about 16 s: the peer is dead, dpd_action restart
      await waitFor('Junction declares the peer dead', async () => !(await tunnelUp('onprem', 'lan')), 40_000, 500);
    } finally {
      await lab().exec('inet', ['nft', 'delete', 'table', 'inet', 'vpnlabcut'], { check: true });
    }
    for (const name of ['lan', 'multi']) {
      const back = await waitFor(`${name} back after DPD`, () => tunnelUp('onprem', name), 45_000, 500);
      if (name === 'lan') expect(back.sas[0].spi_in).not.toBe(before.sas[0].spi_in);
    }
    await expectOneSaEach(['lan', 'multi'], 'after DPD');
    expect((await ping(lab(), 'a1', onprem.lanHost, { count: 2, timeoutS: 4 })).reachable).toBe(true);
  });

  it(`recovers both tunnels by itself within ${RECOVERY_S} s when Junction's own charon is killed (supervisor restart + reload)`, async () => {
    const probes = [
      { tunnel: 'lan', from: 'a1', to: onprem.lanHost },
      { tunnel: 'multi', from: 'b1', to: '192.168.60.1' },
    ] as const;
    for (const p of probes) await bringUp('onprem', p.tunnel);
    const before = await status();
    const oldPid: number = before.charon.pid;
    expect(oldPid).toBeGreaterThan(0);
    const started = Date.now();
    process.kill(oldPid, 'SIGKILL');
    const restarted = await waitFor("Junction's charon restarted", async () => {
      const s = await status();
      return s.charon?.pid && s.charon.pid !== oldPid && s.charon.restarts > before.charon.restarts ? s : undefined;
    }, 15_000, 200);
    expect(restarted.charon.running).toBe(true);
    const deadline = started + RECOVERY_S * 1000;
    const left = () => Math.max(1000, deadline - Date.now());
    for (const p of probes) {
      await waitFor(`${p.tunnel} up again`, () => tunnelUp('onprem', p.tunnel), left(), 500);
      await waitFor(`traffic through ${p.tunnel} again (${p.from} -> ${p.to})`, async () => (await ping(lab(), p.from, p.to, { count: 2, timeoutS: 2 })).reachable, left(), 200);
      console.log(`[vpn-site] Junction charon killed: ${p.tunnel} back after ${((Date.now() - started) / 1000).toFixed(1)} s, with no API call`);
    }
    // the reload came from Junction's stored revision: nothing drifts, and nothing is left of the old charon
    const reconcile = await api('POST', '/v1/reconcile');
    expect(reconcile.body.repaired?.vpn, JSON.stringify(reconcile.body)).toBeUndefined();
    expect(() => process.kill(oldPid, 0)).toThrow();
    // for the on-prem side this was the peer rebooting: one IKE_SA and one CHILD_SA per tunnel on both sides
    await expectOneSaEach(['lan', 'multi'], "after Junction's charon restart");
  });

  it('rejects bad VPN input with 4xx and the path, and disturbs nothing running', async () => {
    const lanBefore = await tunnelUp('onprem', 'lan');
    const revision = (await api('GET', '/v1/revisions')).body.current;
    const cases: Array<[string, () => Promise<any>, number, string]> = [
      ['invalid proposal', () => api('PUT', '/v1/vpn/peers/onprem', { ...pskPeer(), ike_proposals: ['aes999-sha256-modp2048'] }), 422, '/vpn/peers/0/ike_proposals/0'],
      ['selectors outside any local subnet', () => api('PUT', '/v1/vpn/peers/onprem/tunnels/lan', { name: 'lan', local_subnets: ['172.31.0.0/24'], remote_subnets: [onprem.lanSubnet] }), 422, '/vpn/peers/0/tunnels/0/local_subnets/0'],
      ['missing certificate', () => api('POST', '/v1/vpn/peers', { ...pskPeer(), name: 'dc2', remote: '198.18.1.3', auth: { method: 'cert', certificate: 'nope', ca: 'nope-ca' } }), 422, '/vpn/peers/1/auth/certificate'],
    ];
    for (const [name, send, code, where] of cases) {
      const res = await send();
      expect(res.status, `${name}: ${res.text}`).toBe(code);
      expect(res.body.problems.map((p: any) => p.path), name).toContain(where);
    }
    const dupPost = await api('POST', '/v1/vpn/peers', pskPeer());
    expect(dupPost.status).toBe(409);
    const doc = (await api('GET', '/v1/config')).body;
    doc.vpn.peers.push({ ...doc.vpn.peers[0] });
    const dupPut = await api('PUT', '/v1/config', doc);
    expect(dupPut.status, dupPut.text).toBe(422);
    expect(dupPut.body.problems.map((p: any) => p.path)).toContain('/vpn/peers/1/name');
    expect((await api('GET', '/v1/revisions')).body.current).toBe(revision);
    const lanAfter = await tunnelUp('onprem', 'lan');
    expect(lanAfter.sas[0].spi_in).toBe(lanBefore.sas[0].spi_in);
  });

  it('IKEv2 with X.509 certificates: tunnel up and TCP crosses it', async () => {
    const pki = makePki(path.join(work, 'pki'));
    for (const cert of [
      { name: 'lab-ca', certificate: pki.caCert },
      { name: 'junction', certificate: pki.junctionCert, private_key: pki.junctionKey },
    ]) {
      const r = await api('POST', '/v1/vpn/certificates', cert);
      expect(r.status, r.text).toBe(201);
    }
    const listed = (await api('GET', '/v1/vpn/certificates')).body.items;
    expect(listed.find((c: any) => c.name === 'junction').private_key).toBe('********');
    const certPeer = { ...pskPeer(), auth: { method: 'cert', certificate: 'junction', ca: 'lab-ca' }, local_id: 'CN=junction.lab', remote_id: 'CN=onprem.lab' };
    const put = await api('PUT', '/v1/vpn/peers/onprem', certPeer);
    expect(put.status, put.text).toBe(200);
    expect(put.body.actions.vpn).toEqual(expect.arrayContaining(['load-key junction', 'load-conn onprem (IKE settings changed: replaced)', 'unload-shared psk-onprem']));
    await loadOnprem('onprem', { 'x509/junction-onprem.pem': pki.onpremCert, 'private/onprem.key': pki.onpremKey, 'x509ca/lab-ca.pem': pki.caCert });
    const up = await bringUp('onprem', 'lan');
    const peer = (await status()).peers[0];
    expect(peer).toMatchObject({ state: 'ESTABLISHED', local_id: 'CN=junction.lab', remote_id: 'CN=onprem.lab' });
    await expectTcpToOnprem();
    expect((await tunnel('onprem', 'lan')).bytes_in).toBeGreaterThan(0);
    console.log(`[vpn-site] certificates: ${peer.local_id} <-> ${peer.remote_id}, ESP ${up.sas[0].algorithms}`);
    expect(readFileSync(path.join(junction.stateDir, 'junction.log'), 'utf8')).not.toContain(pki.junctionKey.split('\n')[1]);
  });

  it('IKEv1 with AES-CBC/SHA-256/DH14 comes up', async () => {
    const v1 = {
      ...pskPeer(),
      ike_version: 1,
      ike_proposals: ['aes256-sha256-modp2048'],
      tunnels: [{ name: 'lan', local_subnets: ['10.1.0.0/25'], remote_subnets: [onprem.lanSubnet], esp_proposals: ['aes256-sha256-modp2048'] }],
    };
    const put = await api('PUT', '/v1/vpn/peers/onprem', v1);
    expect(put.status, put.text).toBe(200);
    await loadOnprem('onprem');
    const up = await bringUp('onprem', 'lan', 40_000);
    const peer = (await status()).peers[0];
    expect(peer.ike_version).toBe(1);
    expect(peer.algorithms).toBe('AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048');
    expect(up.sas[0].algorithms).toMatch(/^AES_CBC-256\/HMAC_SHA2_256_128\/MODP_2048$/);
    expect((await ping(lab(), 'a1', onprem.lanHost, { count: 3, timeoutS: 5 })).reachable).toBe(true);
  });

  it('measures TCP throughput through the tunnel (reported, not asserted)', async () => {
    const server = lab().spawn('onprem-lan', ['timeout', '20', 'iperf3', '-s', '-1', '-B', onprem.lanHost]);
    try {
      await sleep(500);
      const run = await lab().exec('a1', ['iperf3', '-c', onprem.lanHost, '-t', '4', '-J'], { timeoutMs: 20_000 });
      const report = JSON.parse(run.stdout) as { end?: { sum_received?: { bits_per_second: number } } };
      const mbps = (report.end?.sum_received?.bits_per_second ?? 0) / 1e6;
      console.log(`[vpn-site] iperf3 a1 -> onprem-lan through Junction's ${plane.dataplane} tunnel (IKEv1 AES-CBC-256/SHA-256): ${mbps.toFixed(0)} Mbit/s`);
    } finally {
      server.kill('SIGKILL');
    }
  });

  it('removing the last peer stops charon and takes the tunnel routes away', async () => {
    const del = await api('DELETE', '/v1/vpn/peers/onprem');
    expect(del.status, del.text).toBe(200);
    expect(del.body.actions.vpn).toEqual([
      'stop charon (no peers configured)',
      // the tunnel routes and the fail-closed routes go with the last peer (and xfrm0)
      ...tunnelRoutes('del', [onprem.lanSubnet]),
      'ip -4 route del unreachable 192.168.50.0/24 metric 2147483647 proto 78',
      ...(xfrm ? ['ip link del xfrm0'] : []),
    ]);
    const s = await status();
    expect(s.charon.running).toBe(false);
    expect(s.peers).toEqual([]);
    const routes = await lab().exec('router', ['ip', 'route', 'show', 'table', 'all'], { check: true });
    expect(routes.stdout).not.toContain(plane.tunnelInterface);
    expect((await lab().exec('router', ['ip', 'link', 'show', 'type', 'xfrm'], { check: true })).stdout).toBe('');
  });
});

/** A small PKI made with openssl: a CA, and one certificate for each gateway. */
function makePki(dir: string): { caCert: string; junctionCert: string; junctionKey: string; onpremCert: string; onpremKey: string } {
  mkdirSync(dir, { recursive: true });
  const run = (...args: string[]) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  };
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Junction Lab CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  for (const name of ['junction', 'onprem']) {
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}.lab`);
    writeFileSync(path.join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nsubjectAltName=DNS:${name}.lab\n`);
    run('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
  return { caCert: read('ca.pem'), junctionCert: read('junction.pem'), junctionKey: read('junction.key'), onpremCert: read('onprem.pem'), onpremKey: read('onprem.key') };
}

/** GET /v1/vpn/events over the Unix socket; calls back per event. */
function openEvents(stateDir: string, onEvent: (event: string, data: any) => void): { close(): void; closedCleanly(): boolean } {
  const token = readFileSync(path.join(stateDir, 'api-token'), 'utf8').trim();
  let buffer = '';
  let ended = false;
  const req = httpRequest({ socketPath: path.join(stateDir, 'api.sock'), path: '/v1/vpn/events', headers: { authorization: `Bearer ${token}` } }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let at: number;
      while ((at = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        const event = /^event: (.+)$/m.exec(block)?.[1];
        const data = /^data: (.+)$/m.exec(block)?.[1];
        if (event && data) onEvent(event, JSON.parse(data));
      }
    });
    res.on('close', () => (ended = true));
  });
  req.on('error', () => (ended = true));
  req.end();
  return { close: () => req.destroy(), closedCleanly: () => ended || req.destroyed };
}
