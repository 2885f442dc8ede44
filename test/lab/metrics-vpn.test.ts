// IPsec tunnels in GET /metrics for real: `junction serve` in the lab's
// router namespace runs its charon; the on-prem namespace runs a second
// charon loaded with the remote config Junction generates. Traffic from a
// VPC host to the on-prem LAN host moves the tunnel's byte and packet
// counters; a rekey from the on-prem side is counted; a terminate turns the
// state to down and dates the change. Charons are stopped by pid; the lab
// goes in afterAll even when a test fails.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { addressing } from '../lab-kit/topology.js';
import { ping, tcpConnect, tcpListen } from '../lab-kit/traffic.js';
import { waitFor } from '../lab-kit/wait.js';
import { CharonProcess } from '../../appliance/subsystems/vpn/charon-process.js';
import { sleep } from '../../appliance/platform/sleep.js';
import { parseExposition, type Exposition } from '../support/prometheus-text.js';
import { requireRoot, uniquePrefix, withLab } from './support/lab-fixture.js';
import { startJunction, type RunningJunction } from './support/junction.js';
import { CHARON_TOOLS, requireTools } from './support/tools.js';

const root = requireRoot();
requireTools('metrics-vpn', root.isRoot, [...CHARON_TOOLS, { program: 'swanctl', pkg: 'strongswan-swanctl' }]);
const { vpcs, onprem } = addressing;
const LAN = { peer: 'onprem', tunnel: 'lan' };
const demo = parseYaml(readFileSync(fileURLToPath(new URL('../lab-kit/demo.yaml', import.meta.url)), 'utf8')) as Record<string, any>;

/** The demo, the vpn zone, a policy from VPC a into it, and one PSK peer whose tunnel nobody restarts (start_action none). */
function document(): Record<string, any> {
  return {
    ...demo,
    zones: [...demo.zones, { name: 'vpn' }],
    firewall: { policies: [...demo.firewall.policies, { name: 'a-to-vpn', from: 'vpc-a', to: 'vpn', rules: [{ id: 'a-to-onprem', action: 'accept' }] }] },
    vpn: {
      peers: [{
        name: 'onprem', remote: onprem.wan, auth: { method: 'psk', psk: 'metrics-lab-psk-0123456789abcdef' }, dpd_delay_s: 2,
        tunnels: [{ name: 'lan', local_subnets: ['10.1.0.0/25'], remote_subnets: [onprem.lanSubnet], start_action: 'none' }],
      }],
    },
  };
}

describe.skipIf(!root.isRoot)('IPsec tunnels in GET /metrics', () => {
  const lab = withLab({ prefix: uniquePrefix('p'), onprem: true }, root.isRoot);
  const work = root.isRoot ? mkdtempSync(path.join(tmpdir(), 'jnmetrics-')) : '';
  let junction: RunningJunction;
  let onpremCharon: CharonProcess;
  let junctionCharon: number | undefined;
  /** when the on-prem side got its config (and, start_action start there, initiated) */
  let loadedAt = 0;

  const api = (method: string, url: string, body?: unknown) => junction.api(method, url, body);
  const swanctl = (...args: string[]) => lab().exec('onprem', ['swanctl', ...args, '--uri', `unix://${onpremCharon.socketPath}`], { timeoutMs: 30_000 });
  const scrape = async (): Promise<Exposition> => {
    const answer = await api('GET', '/metrics');
    expect(answer.status, answer.text).toBe(200);
    return parseExposition(answer.text);
  };
  const whenScraped = (what: string, ok: (m: Exposition) => boolean, timeoutMs = 30_000) => waitFor(what, async () => {
    const m = await scrape();
    return ok(m) ? m : undefined;
  }, timeoutMs, 500);
  const state = (m: Exposition) => ['up', 'stalled', 'down'].find((s) => m.value('junction_vpn_tunnel_state', { ...LAN, state: s }) === 1);

  beforeAll(async () => {
    junction = await startJunction(lab(), { args: ['--metrics-max-age', '1'] });
    const put = await api('PUT', '/v1/config?comment=vpn', document());
    expect(put.status, put.text).toBe(200);
    junctionCharon = (await api('GET', '/v1/vpn/status')).body.charon?.pid;
    onpremCharon = new CharonProcess({ stateDir: path.join(work, 'onprem-charon'), dataplane: 'libipsec', netns: lab().nsName('onprem'), restartBackoff: { initialMs: 200, maxMs: 1000 } });
    await onpremCharon.start();
    const generated = await api('GET', '/v1/vpn/peers/onprem/remote-config?format=strongswan');
    expect(generated.status, generated.text).toBe(200);
    const dir = path.join(work, 'onprem-swanctl');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'swanctl.conf'), generated.text, { mode: 0o600 });
    loadedAt = Date.now() / 1000;
    const load = await swanctl('--load-all', '--noprompt', '--file', path.join(dir, 'swanctl.conf'));
    expect(load.code, load.stdout + load.stderr).toBe(0);
  });

  afterAll(async () => {
    await onpremCharon?.stop().catch(() => undefined);
    await junction?.stop();
    // junction stops its charon on SIGTERM; make sure the one it ran does not outlive the test
    await sleep(500);
    if (junctionCharon) {
      try {
        process.kill(junctionCharon, 'SIGKILL');
        console.log(`[metrics-vpn] stopped the charon Junction left running (a clean stop keeps it for the next Junction): pid ${junctionCharon}`);
      } catch {
        // gone, as it should be
      }
    }
    if (junction) rmSync(junction.stateDir, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('shows the tunnel up, dated when it came up, and charon running', async () => {
    // the on-prem side initiates (Junction's tunnel is start_action none); the API initiates too should it not have yet
    const up = await waitFor('onprem/lan up', async () => {
      const m = await scrape();
      if (state(m) === 'up') return m;
      await api('POST', '/v1/vpn/peers/onprem/tunnels/lan/initiate?timeout_ms=5000');
      return undefined;
    }, 30_000, 500);
    expect(up.value('junction_vpn_tunnel_state', { ...LAN, state: 'down' })).toBe(0);
    const changed = up.value('junction_vpn_tunnel_last_change_timestamp_seconds', LAN)!;
    expect(changed).toBeGreaterThanOrEqual(Math.floor(loadedAt) - 1);
    expect(changed).toBeLessThanOrEqual(Date.now() / 1000 + 1);
    expect(up.value('junction_daemon_up', { daemon: 'charon' })).toBe(1);
    expect(up.value('junction_metrics_collector_up', { subsystem: 'vpn' })).toBe(1);
  });

  it('counts the traffic through the tunnel in both directions', async () => {
    const before = await whenScraped('onprem/lan up', (m) => state(m) === 'up');
    const counter = (m: Exposition, name: string, direction: string) => m.value(name, { ...LAN, direction }) ?? -1;
    const listener = await tcpListen(lab(), 'onprem-lan', 5001);
    try {
      for (let i = 0; i < 3; i++) expect(await tcpConnect(lab(), 'a1', onprem.lanHost, 5001)).toBe(true);
      expect((await listener.waitForPeer()).address).toBe(vpcs.a.hosts.a1);
    } finally {
      await listener.close();
    }
    expect((await ping(lab(), 'a1', onprem.lanHost, { count: 3, timeoutS: 4 })).reachable).toBe(true);
    const after = await whenScraped('tunnel counters moved', (m) => counter(m, 'junction_vpn_tunnel_packets_total', 'in') >= counter(before, 'junction_vpn_tunnel_packets_total', 'in') + 6);
    for (const direction of ['in', 'out']) {
      expect(counter(after, 'junction_vpn_tunnel_bytes_total', direction)).toBeGreaterThan(counter(before, 'junction_vpn_tunnel_bytes_total', direction));
      expect(counter(after, 'junction_vpn_tunnel_packets_total', direction)).toBeGreaterThanOrEqual(counter(before, 'junction_vpn_tunnel_packets_total', direction) + 6);
    }
    console.log(`[metrics-vpn] tunnel bytes in +${counter(after, 'junction_vpn_tunnel_bytes_total', 'in') - counter(before, 'junction_vpn_tunnel_bytes_total', 'in')}, out +${counter(after, 'junction_vpn_tunnel_bytes_total', 'out') - counter(before, 'junction_vpn_tunnel_bytes_total', 'out')}`);
  });

  it('counts a rekey the on-prem side starts, and keeps the traffic counted across it', async () => {
    const before = await whenScraped('onprem/lan up', (m) => state(m) === 'up');
    const rekeys = before.value('junction_vpn_tunnel_rekeys_total', LAN)!;
    const bytesIn = before.value('junction_vpn_tunnel_bytes_total', { ...LAN, direction: 'in' })!;
    const rekey = await swanctl('--rekey', '--child', 'lan');
    expect(rekey.code, rekey.stdout + rekey.stderr).toBe(0);
    const after = await whenScraped('the rekey counted', (m) => m.value('junction_vpn_tunnel_rekeys_total', LAN) === rekeys + 1);
    expect(state(after)).toBe('up');
    expect(after.value('junction_vpn_tunnel_bytes_total', { ...LAN, direction: 'in' })).toBeGreaterThanOrEqual(bytesIn);
  });

  it('shows a terminated tunnel down, dated by the down event', async () => {
    const terminatedAt = Date.now() / 1000;
    const term = await api('POST', '/v1/vpn/peers/onprem/tunnels/lan/terminate');
    expect(term.status, term.text).toBe(200);
    const down = await whenScraped('onprem/lan down', (m) => state(m) === 'down');
    expect(down.value('junction_vpn_tunnel_state', { ...LAN, state: 'up' })).toBe(0);
    expect(down.value('junction_vpn_tunnel_last_change_timestamp_seconds', LAN)).toBeGreaterThanOrEqual(Math.floor(terminatedAt) - 1);
    expect(down.value('junction_daemon_restarts_total', { daemon: 'charon' })).toBe(0);
  });
});
