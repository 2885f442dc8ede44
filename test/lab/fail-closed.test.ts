// Fail closed before the first revision: the lab's router starts as a
// container runtime leaves it (addresses up, forwarding on, return routes in
// place: plain-routing mode), so a VPC host reaches the internet host with
// no Junction at all. With `junction serve` and no revision it must not,
// nor after a failed first apply; after the first commit it does, by policy;
// a restart over the running revision leaves the ruleset alone.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { addressing } from '../lab-kit/topology.js';
import { ping, tcpConnect, tcpListen } from '../lab-kit/traffic.js';
import { requireRoot, uniquePrefix, withLab } from './support/lab-fixture.js';
import { faultyNft, startJunction, type RunningJunction } from './support/junction.js';
import { FAIL_CLOSED_TABLE } from '../../appliance/subsystems/firewall/fail-closed.js';

const root = requireRoot();
const { internet } = addressing;
const demo = readFileSync(fileURLToPath(new URL('../lab-kit/demo.yaml', import.meta.url)), 'utf8');

describe.skipIf(!root.isRoot)('fail closed before the first revision', () => {
  const lab = withLab({ prefix: uniquePrefix('fc'), plainRouting: true }, root.isRoot);
  const fault = faultyNft();
  let junction: RunningJunction | undefined;
  let stateDir: string | undefined;

  const failClosedPresent = async () => (await lab().exec('router', ['nft', 'list', 'table', 'inet', FAIL_CLOSED_TABLE])).code === 0;
  const a1ReachesInternet = async () => (await ping(lab(), 'a1', internet.host, { count: 1, timeoutS: 2 })).reachable;

  afterAll(async () => {
    await junction?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    fault.cleanup();
  });

  it('forwards unfiltered without Junction (the control: the runtime left forwarding on)', async () => {
    expect(await a1ReachesInternet()).toBe(true);
  });

  it('drops forwarding at revision null, with the API still answering', async () => {
    junction = await startJunction(lab(), { env: { JUNCTION_BIN_NFT: fault.wrapper } });
    stateDir = junction.stateDir;
    expect(await failClosedPresent()).toBe(true);
    expect(await a1ReachesInternet()).toBe(false);
    expect(await tcpConnect(lab(), 'a1', internet.host, 9000, 1500)).toBe(false);
    const health = await junction.api('GET', '/v1/health');
    expect(health.status).toBe(200);
  });

  it('stays closed after a failed first apply', async () => {
    writeFileSync(fault.flag, '');
    try {
      const put = await junction!.api('PUT', '/v1/config', demo, { contentType: 'application/yaml' });
      expect(put.status).toBeGreaterThanOrEqual(400);
    } finally {
      rmSync(fault.flag, { force: true });
    }
    expect(await failClosedPresent()).toBe(true);
    expect(await a1ReachesInternet()).toBe(false);
  });

  it('opens per policy at the first commit', async () => {
    const put = await junction!.api('PUT', '/v1/config', demo, { contentType: 'application/yaml' });
    expect(put.status, put.text).toBe(200);
    for (let i = 0; i < 20 && (await failClosedPresent()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await failClosedPresent()).toBe(false);
    const listener = await tcpListen(lab(), 'inet', 9000);
    try {
      expect(await tcpConnect(lab(), 'a1', internet.host, 9000)).toBe(true);
      expect((await listener.waitForPeer()).address).toBe(addressing.ccnn.router); // NATed: the policy, not plain routing
    } finally {
      await listener.close();
    }
  });

  it('does not close again on a restart over the running revision', async () => {
    const before = (await lab().exec('router', ['nft', 'list', 'ruleset'], { check: true })).stdout;
    await junction!.stop();
    junction = await startJunction(lab(), { stateDir });
    expect(await failClosedPresent()).toBe(false);
    expect(await a1ReachesInternet()).toBe(true);
    const after = (await lab().exec('router', ['nft', 'list', 'ruleset'], { check: true })).stdout;
    const withoutCounters = (text: string) => text.replace(/packets \d+ bytes \d+/g, 'packets N bytes N');
    expect(withoutCounters(after)).toBe(withoutCounters(before));
  });
});
