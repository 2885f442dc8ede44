// The site that restart tests and the `recovery` benchmark run against: the
// demo plus an IPsec tunnel (PSK, libipsec or XFRM as detected) to the
// on-prem charon, and a BGP session over Direct Connect (dx0, BFD, graceful
// restart) to the on-prem bird, which announces 192.168.70.0/24 where the
// on-prem namespace itself answers (192.168.70.1 on its loopback). Three
// paths for long-lived flows: a1 -> internet host (NAT egress), a1 ->
// on-prem LAN host (tunnel), b1 -> 192.168.70.1 (BGP-learned route).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { apiRequest, targetFromStateDir, type ApiResponse } from '../../appliance/main/api-client.js';
import { CharonProcess } from '../../appliance/subsystems/vpn/charon-process.js';
import { charonPaths } from '../../appliance/subsystems/vpn/strongswan-conf.js';
import { ViciClient } from '../../appliance/subsystems/vpn/vici/index.js';
import { detectDataplane } from '../../appliance/subsystems/vpn/dataplane.js';
import { SystemCommandRunner } from '../../appliance/platform/command-runner.js';
import { sleep } from '../../appliance/platform/sleep.js';
import { OnpremBird, JUNCTION_ASN, ONPREM_ASN } from '../lab/support/onprem-bird.js';
import { waitForApi } from './command.js';
import type { Lab, LabProcess } from './lab.js';
import { addressing } from './topology.js';
import { waitFor } from './wait.js';
import { SERVE_NODE_FLAGS } from '../../appliance/main/node-flags.js';

export const CLI = fileURLToPath(new URL('../../dist/appliance/cli.js', import.meta.url));
export const BGP_PREFIX = '192.168.70.0/24';
export const BGP_HOST = '192.168.70.1';
const PSK = 'restart-site-lab-psk-0123456789abcdef';
const op = addressing.onprem;


export function siteDocument(): Record<string, any> {
  const doc = parseYaml(readFileSync(fileURLToPath(new URL('./demo.yaml', import.meta.url)), 'utf8')) as Record<string, any>;
  doc.interfaces.push({ name: 'dx0', role: 'dx', zone: 'dx', addresses: [`${op.dxRouter}/30`] });
  doc.zones.push({ name: 'vpn', description: 'IPsec tunnels' }, { name: 'dx', description: 'Direct Connect' });
  doc.firewall.policies.push(
    { name: 'a-to-vpn', from: 'vpc-a', to: 'vpn', rules: [{ id: 'a-to-onprem', action: 'accept' }] },
    { name: 'b-to-dx', from: 'vpc-b', to: 'dx', rules: [{ id: 'b-to-dx-any', action: 'accept' }] },
  );
  doc.vpn = {
    peers: [{
      name: 'onprem', remote: op.wan, auth: { method: 'psk', psk: PSK }, dpd_delay_s: 2,
      tunnels: [{ name: 'lan', local_subnets: ['10.1.0.0/25'], remote_subnets: [op.lanSubnet] }],
    }],
  };
  doc.bgp = {
    asn: JUNCTION_ASN,
    router_id: op.dxRouter,
    neighbors: [{ id: 'dx-1', address: op.dxOnprem, remote_asn: ONPREM_ASN, interface: 'dx0', bfd: { interval_ms: 100, multiplier: 3 }, import: { prefixes: [{ prefix: BGP_PREFIX }] } }],
  };
  return doc;
}

export interface Site {
  stateDir: string;
  /** the UTS namespace every Junction of this site runs in (nsenter --uts=FILE) */
  utsFile: string;
  junction: LabProcess;
  onpremCharon: CharonProcess;
  onpremBird: OnpremBird;
  api<T = any>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>>;
  /** Starts `junction serve` on the site's state dir (after a stop) and waits for its API. */
  startJunction(): Promise<LabProcess>;
  stop(): Promise<void>;
}

/**
 * Junction in the router namespace, in a UTS namespace of its own (it sets
 * the demo's hostname) that outlives it, as the machine's does on a real
 * appliance: kept by a bind mount on `utsFile`, entered again by each new
 * Junction (nsenter execs in place, so the pid is Junction's).
 */
function spawnJunction(lab: Lab, stateDir: string, utsFile: string): LabProcess {
  return lab.spawn('router', ['nsenter', `--uts=${utsFile}`, process.execPath, ...SERVE_NODE_FLAGS, CLI, 'serve', '--state-dir', stateDir, '--listen', '127.0.0.1:8080'], { logFile: join(stateDir, 'junction.log') });
}

function persistentUts(work: string): { file: string; release(): void } {
  const file = join(work, 'junction-uts');
  writeFileSync(file, '');
  const made = spawnSync('unshare', [`--uts=${file}`, 'true']);
  if (made.status !== 0) throw new Error(`unshare --uts=${file}: ${made.stderr}`);
  return { file, release: () => void spawnSync('umount', [file]) };
}

/** Brings the whole site up and waits until the tunnel is up and the BGP route is in the router's kernel. */
export async function startSite(lab: Lab, stateDir: string, work: string): Promise<Site> {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const uts = persistentUts(work);
  await lab.exec('onprem', ['ip', 'addr', 'add', `${BGP_HOST}/32`, 'dev', 'lo'], { check: true });
  const onpremBird = new OnpremBird(lab);
  // the on-prem peer helps Junction's graceful restart, as a Direct Connect router would
  await onpremBird.start({ announce: [BGP_PREFIX], bfdGraceful: true });
  const { dataplane } = await detectDataplane(new SystemCommandRunner(), { netns: lab.nsName('onprem') });
  const onpremCharon = new CharonProcess({ stateDir: join(work, 'onprem-charon'), dataplane, netns: lab.nsName('onprem'), restartBackoff: { initialMs: 200, maxMs: 1000 } });
  await onpremCharon.start();
  const target = () => targetFromStateDir(stateDir);
  const api = <T = any>(method: string, path: string, body?: unknown) => apiRequest<T>(target(), method, path, body);
  const site: Site = {
    stateDir, utsFile: uts.file, onpremCharon, onpremBird, api,
    junction: spawnJunction(lab, stateDir, uts.file),
    startJunction: async () => {
      site.junction = spawnJunction(lab, stateDir, uts.file);
      await waitForApi(stateDir);
      return site.junction;
    },
    stop: async () => {
      await onpremCharon.stop().catch(() => undefined);
      await onpremBird.stop();
      uts.release();
    },
  };
  await waitForApi(stateDir);
  const put = await api('PUT', '/v1/config?comment=restart%20site', siteDocument());
  if (put.status !== 200) throw new Error(`the site config was refused: ${put.text}`);
  const remote = await api('GET', '/v1/vpn/peers/onprem/remote-config?format=strongswan');
  if (remote.status !== 200) throw new Error(`remote config: ${remote.text}`);
  const file = join(work, 'onprem-swanctl.conf');
  writeFileSync(file, remote.text, { mode: 0o600 });
  const loadOnprem = () => lab.exec('onprem', ['swanctl', '--load-all', '--noprompt', '--file', file, '--uri', `unix://${onpremCharon.socketPath}`], { timeoutMs: 30_000 });
  const load = await loadOnprem();
  if (load.code !== 0) throw new Error(`on-prem swanctl: ${load.stderr}`);
  // a rebooted on-prem gateway loads its configuration again, like a real one at boot
  onpremCharon.onRestart(async () => void (await loadOnprem()));
  await waitFor('tunnel onprem/lan up', async () => {
    if ((await saCounts(charonPaths(join(stateDir, 'charon')).socket)).child >= 1) return true;
    await api('POST', '/v1/vpn/peers/onprem/tunnels/lan/initiate?timeout_ms=5000');
    return false;
  }, 60_000, 500);
  await waitFor(`BGP route ${BGP_PREFIX} in the router's kernel`, async () => (await lab.exec('router', ['ip', 'route', 'show', BGP_PREFIX, 'proto', 'bird'])).stdout.includes('dx0'), 60_000, 250);
  return site;
}

export interface SaCounts {
  ike: number;
  child: number;
  childBytes: number;
  /** unique ids of the established IKE_SAs and installed CHILD_SAs: a re-negotiation changes them */
  ids: string[];
}

/** Established IKE_SAs and installed CHILD_SAs of a charon, read over its VICI socket. */
export async function saCounts(socket: string): Promise<SaCounts> {
  const client = await ViciClient.connect(socket);
  try {
    const counts: SaCounts = { ike: 0, child: 0, childBytes: 0, ids: [] };
    for (const sa of await client.listSas({ noblock: true })) {
      const value = sa.value as Record<string, any>;
      if (value.state !== 'ESTABLISHED') continue;
      counts.ike++;
      counts.ids.push(`ike ${value.uniqueid}`);
      for (const c of Object.values((value['child-sas'] ?? {}) as Record<string, any>)) {
        if (c.state !== 'INSTALLED') continue;
        counts.child++;
        counts.ids.push(`child ${c.uniqueid}`);
        counts.childBytes += Number(c['bytes-in'] ?? 0) + Number(c['bytes-out'] ?? 0);
      }
    }
    return counts;
  } finally {
    client.close();
  }
}

/** bird's `since` of the session (a flap moves it) and the neighbor's state, from the BGP status API. */
export async function bgpSession(site: Site): Promise<{ established: boolean; since?: string }> {
  const status = await site.api('GET', '/v1/bgp/status');
  const n = (status.body?.neighbors ?? []).find((x: any) => x.id === 'dx-1');
  return { established: !!n?.established, since: n?.since };
}
