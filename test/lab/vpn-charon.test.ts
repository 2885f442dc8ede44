// IPsec end to end with real charons. Four namespaces in a row:
//   hostA ── gwA ══ IKEv2/ESP over 198.51.100.0/24 ══ gwB ── hostB
// Each gateway runs a charon started by CharonProcess (own strongswan.conf,
// VICI socket, /run); everything is configured over our own VICI client.
// This kernel has no XFRM ESP, so the data plane is kernel-libipsec (TUN).
// Veths are created inside the namespaces; no traffic starts in the root
// namespace. afterAll stops both charons by pid and deletes the namespaces.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemCommandRunner, runChecked } from '../../appliance/platform/command-runner.js';
import { CharonProcess } from '../../appliance/subsystems/vpn/charon-process.js';
import { detectDataplane, type DataplaneChoice } from '../../appliance/subsystems/vpn/dataplane.js';
import { section, type ViciSection } from '../../appliance/subsystems/vpn/vici/codec.js';
import { ViciClient } from '../../appliance/subsystems/vpn/vici/client.js';
import { ViciCommandError } from '../../appliance/subsystems/vpn/vici/errors.js';
import type { ViciPlain } from '../../appliance/subsystems/vpn/vici/codec.js';
import { waitFor } from './../lab-kit/wait.js';
import { sleep } from '../../appliance/platform/sleep.js';
import { CHARON_TOOLS, requireTools } from './support/tools.js';

const isRoot = process.getuid?.() === 0;
requireTools('vpn-charon', isRoot, [...CHARON_TOOLS, { program: 'ip', pkg: 'iproute2' }, { program: 'iperf3', pkg: 'iperf3' }]);
const skipReason = isRoot ? '' : 'not root';
if (skipReason) console.log(`[vpn-charon] skipped: ${skipReason}`);

const runner = new SystemCommandRunner();
const pid = process.pid;
const ns = { hostA: `jnv${pid}-ha`, gwA: `jnv${pid}-ga`, gwB: `jnv${pid}-gb`, hostB: `jnv${pid}-hb` };
const PSK = 'lab-psk-0123456789abcdef'; // a test secret; asserted never to reach the logs
const ip = (...args: string[]) => runChecked(runner, 'ip', args);
const inNs = (name: string, program: string, ...args: string[]) => runner.run('ip', ['netns', 'exec', name, program, ...args], { timeoutMs: 60_000 });

async function buildTopology(): Promise<void> {
  for (const name of Object.values(ns)) {
    await ip('netns', 'add', name);
    await ip('-n', name, 'link', 'set', 'lo', 'up');
  }
  const link = async (a: string, aIf: string, aAddr: string, b: string, bIf: string, bAddr: string) => {
    await ip('link', 'add', aIf, 'netns', a, 'type', 'veth', 'peer', 'name', bIf, 'netns', b);
    await ip('-n', a, 'addr', 'add', aAddr, 'dev', aIf);
    await ip('-n', b, 'addr', 'add', bAddr, 'dev', bIf);
    await ip('-n', a, 'link', 'set', aIf, 'up');
    await ip('-n', b, 'link', 'set', bIf, 'up');
  };
  await link(ns.hostA, 'eth0', '10.1.0.2/24', ns.gwA, 'lan', '10.1.0.1/24');
  await link(ns.gwA, 'wan', '198.51.100.1/24', ns.gwB, 'wan', '198.51.100.2/24');
  await link(ns.gwB, 'lan', '10.2.0.1/24', ns.hostB, 'eth0', '10.2.0.2/24');
  await ip('-n', ns.hostA, 'route', 'add', 'default', 'via', '10.1.0.1');
  await ip('-n', ns.hostB, 'route', 'add', 'default', 'via', '10.2.0.1');
  for (const gw of [ns.gwA, ns.gwB]) await runChecked(runner, 'ip', ['netns', 'exec', gw, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
}

/** A site-to-site IKEv2 PSK connection with one child, in swanctl.conf order. */
function siteConnection(side: { local: string; remote: string; localId: string; remoteId: string; localNet: string; remoteNet: string }): ViciSection {
  return section([
    ['version', 2],
    ['local_addrs', [side.local]],
    ['remote_addrs', [side.remote]],
    ['proposals', ['aes256gcm16-prfsha256-ecp256']],
    ['dpd_delay', '10s'],
    ['local', section([['auth', 'psk'], ['id', side.localId]])],
    ['remote', section([['auth', 'psk'], ['id', side.remoteId]])],
    [
      'children',
      section([
        [
          'lan',
          section([
            ['local_ts', [side.localNet]],
            ['remote_ts', [side.remoteNet]],
            ['esp_proposals', ['aes256gcm16']],
            ['start_action', 'none'],
          ]),
        ],
      ]),
    ],
  ]);
}

const sideA = { local: '198.51.100.1', remote: '198.51.100.2', localId: 'gw-a.example', remoteId: 'gw-b.example', localNet: '10.1.0.0/24', remoteNet: '10.2.0.0/24' };
const sideB = { local: '198.51.100.2', remote: '198.51.100.1', localId: 'gw-b.example', remoteId: 'gw-a.example', localNet: '10.2.0.0/24', remoteNet: '10.1.0.0/24' };

describe.skipIf(!!skipReason)('charon supervised by CharonProcess, driven by our VICI client (lab)', () => {
  const stateRoot = skipReason ? '' : mkdtempSync(path.join(tmpdir(), `jnv${pid}-`));
  let choice: DataplaneChoice;
  let charonA: CharonProcess;
  let charonB: CharonProcess;
  let clientA: ViciClient | undefined;
  let clientB: ViciClient | undefined;

  async function applySite(client: ViciClient, side: typeof sideA): Promise<void> {
    await client.loadShared({ id: 'psk-site', type: 'IKE', data: PSK, owners: ['gw-a.example', 'gw-b.example'] });
    await client.loadConn('site', siteConnection(side));
  }

  beforeAll(async () => {
    await buildTopology();
    choice = await detectDataplane(runner, { netns: ns.gwA });
    console.log(`[vpn-charon] data plane: ${choice.dataplane} (${choice.reason})`);
    charonA = new CharonProcess({ stateDir: path.join(stateRoot, 'a'), dataplane: choice.dataplane, netns: ns.gwA, restartBackoff: { initialMs: 200, maxMs: 2000 } });
    charonB = new CharonProcess({ stateDir: path.join(stateRoot, 'b'), dataplane: choice.dataplane, netns: ns.gwB });
    await Promise.all([charonA.start(), charonB.start()]);
    clientA = await ViciClient.connect(charonA.socketPath);
    clientB = await ViciClient.connect(charonB.socketPath);
  });

  afterAll(async () => {
    clientA?.close();
    clientB?.close();
    await Promise.allSettled([charonA?.stop(), charonB?.stop()]);
    for (const name of Object.values(ns)) await runner.run('ip', ['netns', 'del', name]);
    if (process.env.JUNCTION_KEEP_LAB) console.log(`[vpn-charon] state kept in ${stateRoot}`);
    else if (stateRoot) rmSync(stateRoot, { recursive: true, force: true });
  });

  it('answers version and stats with the plugins we listed', async () => {
    const version = await clientA!.version();
    expect(version.daemon).toBe('charon');
    expect(version.version).toMatch(/^\d+\.\d+/);
    const stats = await clientA!.stats();
    const plugins = stats.plugins as string[];
    expect(plugins).toContain('vici');
    expect(plugins).toContain(choice.dataplane === 'libipsec' ? 'kernel-libipsec' : 'kernel-netlink');
    expect(Number((stats.workers as ViciPlain).total)).toBe(16);
    console.log(`[vpn-charon] charon ${version.version}, plugins: ${plugins.join(' ')}, idle workers ${(stats.workers as ViciPlain).idle}/16`);
  });

  it('loads, lists and unloads a shared secret by id', async () => {
    await clientA!.loadShared({ id: 'probe', type: 'IKE', data: 'probe-secret', owners: ['probe.example'] });
    expect(await clientA!.getShared()).toContain('probe');
    await clientA!.unloadShared('probe');
    expect(await clientA!.getShared()).not.toContain('probe');
  });

  it('loads, lists and unloads a connection', async () => {
    await clientA!.loadConn('scratch', siteConnection(sideA));
    expect(await clientA!.getConns()).toEqual(['scratch']);
    const conns = await clientA!.listConns();
    const scratch = conns.find((c) => c.name === 'scratch');
    expect(scratch?.value.version).toBe('IKEv2');
    expect(Object.keys((scratch!.value.children as ViciPlain) ?? {})).toEqual(['lan']);
    await clientA!.unloadConn('scratch');
    expect(await clientA!.getConns()).toEqual([]);
  });

  it('reports a refused command as a ViciCommandError', async () => {
    const error = await clientA!.unloadConn('no-such-conn').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ViciCommandError);
    expect((error as ViciCommandError).errmsg).toMatch(/no-such-conn/);
  });

  it('brings up a PSK tunnel initiated over VICI, and a ping crosses it', async () => {
    const updown: string[] = [];
    const subscription = await clientA!.subscribe(['ike-updown', 'child-updown'], (name, message) => {
      updown.push(`${name} ${message.get('up')?.toString() === 'yes' ? 'up' : 'down'}`);
    });
    try {
      await applySite(clientB!, sideB);
      await applySite(clientA!, sideA);
      await clientA!.initiate({ child: 'lan', ike: 'site', timeoutMs: 15_000 });

      const sas = await clientA!.listSas({ ike: 'site' });
      expect(sas.length).toBe(1);
      const ike = sas[0]!.value;
      expect(ike.state).toBe('ESTABLISHED');
      const children = Object.values(ike['child-sas'] as Record<string, ViciPlain>);
      expect(children.map((c) => c.state)).toEqual(['INSTALLED']);
      expect(children[0]!['local-ts']).toEqual(['10.1.0.0/24']);
      console.log(`[vpn-charon] IKE ${ike['encr-alg']}-${ike['encr-keysize']}/${ike['prf-alg']}/${ike['dh-group']}, ESP ${children[0]!['encr-alg']}-${children[0]!['encr-keysize']}, ESP in UDP=${children[0]!.encap ?? 'no'}, nat-fake=${ike['nat-fake'] ?? 'no'}`);

      const tun = await inNs(ns.gwA, 'ip', '-d', 'link', 'show', 'type', 'tun');
      const routes = await inNs(ns.gwA, 'ip', 'route', 'show', 'table', 'all');
      if (choice.dataplane === 'libipsec') {
        // libipsec: ESP happens in charon behind a TUN device; charon routes the remote subnet into it (table 220)
        expect(tun.stdout).toMatch(/\bipsec0:/);
        expect(routes.stdout).toMatch(/10\.2\.0\.0\/24 dev ipsec0 table 220 .*src 10\.1\.0\.1/);
      }
      console.log(`[vpn-charon] gwA TUN devices:\n${tun.stdout.trim()}\n[vpn-charon] gwA routes:\n${routes.stdout.trim()}`);

      const ping = await inNs(ns.hostA, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '10.2.0.2');
      expect(ping.code, ping.stdout + ping.stderr).toBe(0);

      const after = await clientA!.listSas({ ike: 'site' });
      const child = Object.values(after[0]!.value['child-sas'] as Record<string, ViciPlain>)[0]!;
      expect(Number(child['packets-out'])).toBeGreaterThanOrEqual(3);
      expect(Number(child['packets-in'])).toBeGreaterThanOrEqual(3);

      await waitFor('ike-updown and child-updown events', async () => updown.includes('ike-updown up') && updown.includes('child-updown up'), 5_000);
    } finally {
      subscription.close();
    }
  });

  it('measures throughput through the tunnel (reported, not asserted)', async () => {
    const server = await inNs(ns.hostB, 'iperf3', '-s', '-D', '-1', '-B', '10.2.0.2', '--pidfile', path.join(stateRoot, 'iperf3.pid'));
    expect(server.code).toBe(0);
    try {
      await sleep(300);
      const run = await inNs(ns.hostA, 'iperf3', '-c', '10.2.0.2', '-t', '3', '-J');
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout) as { error?: string; end?: { sum_received?: { bits_per_second: number } } };
      expect(report.error).toBeUndefined();
      const bps = report.end!.sum_received!.bits_per_second;
      console.log(`[vpn-charon] iperf3 hostA -> hostB through ${choice.dataplane}: ${(bps / 1e6).toFixed(0)} Mbit/s`);
    } finally {
      const pidFile = path.join(stateRoot, 'iperf3.pid');
      if (existsSync(pidFile)) {
        const iperfPid = Number(readFileSync(pidFile, 'utf8').trim());
        if (iperfPid > 0) {
          try {
            process.kill(iperfPid);
          } catch {
            // already gone (-1 exits after one test)
          }
        }
      }
    }
  });

  it('restarts a charon that died, and the caller re-applies the config', async () => {
    const oldPid = charonA.pid!;
    expect(oldPid).toBeGreaterThan(0);
    const reapplied = new Promise<void>((resolve, reject) =>
      charonA.onRestart(async () => {
        try {
          clientA?.close();
          clientA = await ViciClient.connect(charonA.socketPath);
          await applySite(clientA, sideA);
          resolve();
        } catch (e) {
          reject(e as Error);
        }
      }),
    );
    process.kill(oldPid, 'SIGKILL');
    await reapplied;
    expect(charonA.pid).toBeGreaterThan(0);
    expect(charonA.pid).not.toBe(oldPid);
    expect(await clientA!.getConns()).toEqual(['site']);
    await clientA!.initiate({ child: 'lan', ike: 'site', timeoutMs: 15_000 });
    const ping = await inNs(ns.hostA, 'ping', '-c', '2', '-i', '0.2', '-W', '2', '10.2.0.2');
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
  });

  it('never wrote the PSK into the logs', () => {
    for (const charon of [charonA, charonB]) {
      const log = readFileSync(charon.logPath, 'utf8');
      expect(log.length).toBeGreaterThan(0);
      expect(log).not.toContain(PSK);
    }
  });
});
