// BGP end to end: two namespaces joined by two veth pairs, a bird in each.
// "Junction" runs a config rendered by appliance/subsystems/bgp/render.ts; "on-prem" is
// a hand-written BIRD config announcing prefixes from a static protocol.
// Veths are created inside the namespaces, so nothing touches the root
// namespace; afterAll stops both birds by pid and deletes the namespaces.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BirdApplier } from '../../appliance/subsystems/bgp/bird-config.js';
import { resetNeighbor, softResetNeighbor } from '../../appliance/subsystems/bgp/control.js';
import { BirdProcess } from '../../appliance/subsystems/bgp/bird-process.js';
import { BirdSocket } from '../../appliance/subsystems/bgp/bird-socket.js';
import { probeTcpMd5, type Md5Capability } from '../../appliance/subsystems/bgp/md5-probe.js';
import { renderBirdConfig } from '../../appliance/subsystems/bgp/render.js';
import type { BgpSection } from '../../appliance/subsystems/bgp/schema.js';
import { BgpStatusReader, type NeighborStatus } from '../../appliance/subsystems/bgp/bird-status.js';
import { SystemCommandRunner, runChecked } from '../../appliance/platform/command-runner.js';
import { waitFor } from './../lab-kit/wait.js';
import { sleep } from '../../appliance/platform/sleep.js';
import { agePastJitter, expectNewSession, expectSameSession, sameSession } from './support/bgp-session.js';
import { requireTools } from './support/tools.js';

const isRoot = process.getuid?.() === 0;
requireTools('bgp-bird', isRoot, [{ program: 'bird', pkg: 'bird2' }, { program: 'ip', pkg: 'iproute2' }]);
const skipReason = isRoot ? '' : 'not root';
if (skipReason) console.log(`[bgp-bird] skipped: ${skipReason}`);

const runner = new SystemCommandRunner();
const pid = process.pid;
const nsJunction = `jnb${pid}-a`;
const nsOnprem = `jnb${pid}-b`;
// two links, one per neighbor, so one session can be cut without the other
const links = [
  { junctionIf: `jnb${pid}a1`, onpremIf: `jnb${pid}b1`, junction: '169.254.10.1', onprem: '169.254.10.2' },
  { junctionIf: `jnb${pid}a2`, onpremIf: `jnb${pid}b2`, junction: '169.254.20.1', onprem: '169.254.20.2' },
];
const PASSWORD = 'dx-s3cret';

const ip = (...args: string[]) => runChecked(runner, 'ip', args);

function onpremConfig(password: string): string {
  return `router id 169.254.10.2;
log stderr all;
protocol device {}
protocol bfd { interface "*" { interval 300 ms; multiplier 3; }; }
protocol static announce {
  ipv4;
  route 10.50.1.0/24 blackhole;
  route 10.50.2.0/24 blackhole;
  route 192.0.2.0/24 blackhole;
}
protocol bgp junction1 {
  local 169.254.10.2 as 65000;
  neighbor 169.254.10.1 as 64512;
  direct;
  error wait time 1, 5; # the lab resets sessions on purpose; do not sit out 60 s
  ${password ? `password "${password}";` : ''}
  bfd on;
  ipv4 { import all; export where source = RTS_STATIC; };
}
protocol bgp junction2 {
  local 169.254.20.2 as 65000;
  neighbor 169.254.20.1 as 64512;
  direct;
  error wait time 1, 5;
  ipv4 { import all; export where source = RTS_STATIC; };
}
`;
}

function junctionSection(options: { password?: string; dx2HoldTime?: number }): BgpSection {
  const importOnprem = { prefixes: [{ prefix: '10.50.0.0/16', le: 24 }] };
  return {
    asn: 64512,
    router_id: '169.254.10.1',
    neighbors: [
      {
        id: 'dx-1', address: '169.254.10.2', remote_asn: 65000, interface: links[0].junctionIf,
        ...(options.password ? { password: options.password } : {}),
        bfd: true, import: importOnprem, max_prefix: { limit: 100, action: 'block' }, local_pref: 200,
      },
      {
        id: 'dx-2', address: '169.254.20.2', remote_asn: 65000, interface: links[1].junctionIf,
        import: importOnprem, hold_time: options.dx2HoldTime ?? 90,
      },
    ],
  };
}
const vpcSubnets = [{ prefix: '10.1.0.0/24' }];

describe.skipIf(!!skipReason)('BGP with BIRD 2 between two namespaces', () => {
  let stateDir = '';
  let junction: BirdProcess;
  let onprem: BirdProcess;
  let junctionControl: BirdSocket;
  let onpremControl: BirdSocket;
  let applier: BirdApplier;
  let status: BgpStatusReader;
  let md5: Md5Capability;

  const neighbor = async (id: string) => (await status.neighbor(id)) as NeighborStatus;
  const kernelRoutes = async () => ip('-n', nsJunction, 'route', 'show', 'proto', 'bird');

  beforeAll(async () => {
    md5 = await probeTcpMd5(runner);
    console.log(`[bgp-bird] TCP MD5 (RFC 2385) on this kernel: ${md5.supported ? 'supported' : 'NOT supported'} (${md5.how}: ${md5.detail})`);

    stateDir = mkdtempSync(path.join(tmpdir(), 'jnb-bgp-lab-'));
    await ip('netns', 'add', nsJunction);
    await ip('netns', 'add', nsOnprem);
    for (const ns of [nsJunction, nsOnprem]) await ip('-n', ns, 'link', 'set', 'lo', 'up');
    for (const l of links) {
      await ip('-n', nsJunction, 'link', 'add', l.junctionIf, 'type', 'veth', 'peer', 'name', l.onpremIf, 'netns', nsOnprem);
      await ip('-n', nsJunction, 'addr', 'add', `${l.junction}/30`, 'dev', l.junctionIf);
      await ip('-n', nsOnprem, 'addr', 'add', `${l.onprem}/30`, 'dev', l.onpremIf);
      await ip('-n', nsJunction, 'link', 'set', l.junctionIf, 'up');
      await ip('-n', nsOnprem, 'link', 'set', l.onpremIf, 'up');
    }

    const onpremDir = path.join(stateDir, 'onprem');
    onprem = new BirdProcess({ stateDir: onpremDir, netns: nsOnprem });
    const onpremPassword = md5.supported ? PASSWORD : '';
    rmSync(onpremDir, { recursive: true, force: true });
    await import('node:fs').then((fs) => fs.mkdirSync(onpremDir, { recursive: true }));
    writeFileSync(onprem.configFile, onpremConfig(onpremPassword));
    await onprem.start();
    onpremControl = await BirdSocket.connect(onprem.socketPath);

    junction = new BirdProcess({ stateDir: path.join(stateDir, 'junction'), netns: nsJunction });
    await import('node:fs').then((fs) => fs.mkdirSync(path.join(stateDir, 'junction'), { recursive: true }));
    // Bootstrap: the file bird starts with, checked like every other apply.
    await new BirdApplier({ runner, bird: { command: () => Promise.reject(new Error('not running')) }, configFile: junction.configFile })
      .install(renderBirdConfig({ section: junctionSection({ password: md5.supported ? PASSWORD : undefined }), vpcSubnets }));
    await junction.start();
    junctionControl = await BirdSocket.connect(junction.socketPath);
    applier = new BirdApplier({ runner, bird: junctionControl, configFile: junction.configFile });
    status = new BgpStatusReader(junctionControl);
  });

  afterAll(async () => {
    junctionControl?.close();
    onpremControl?.close();
    await junction?.stop().catch(() => undefined);
    await onprem?.stop().catch(() => undefined);
    for (const ns of [nsJunction, nsOnprem]) await runner.run('ip', ['netns', 'del', ns]);
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('brings both sessions up (dx-1 with an MD5 password when the kernel has TCP MD5) and reports them Established', async () => {
    const [dx1, dx2] = await waitFor('both sessions Established', async () => {
      const list = [await neighbor('dx-1'), await neighbor('dx-2')];
      return list.every((n) => n.established) && list;
    });
    console.log(`[bgp-bird] dx-1 Established ${md5.supported ? 'with' : 'WITHOUT (kernel has no TCP MD5)'} password; since ${dx1.since}`);
    expect(dx1).toMatchObject({ state: 'up', bgpState: 'Established', neighborAs: 65000, localAs: 64512, holdTime: 90 });
    expect(dx2.holdTime).toBe(90);
    // 10.50.1.0/24 and 10.50.2.0/24 pass the import filter; 192.0.2.0/24 is kept as filtered
    const routes = await waitFor('routes counted', async () => {
      const n = await neighbor('dx-1');
      return n.routes.imported === 2 && n.routes;
    });
    expect(routes).toMatchObject({ imported: 2, filtered: 1, preferred: 2 });
    expect(dx1.channels[0].importLimit).toEqual({ limit: 100, action: 'block' });
  });

  it('installs the imported routes in the Junction namespace kernel table (proto bird, metric 2000, via dx-1 for local_pref 200)', async () => {
    const table = await waitFor('kernel routes', async () => {
      const out = await kernelRoutes();
      return out.includes('10.50.1.0/24') && out.includes('10.50.2.0/24') && out;
    });
    expect(table).toContain('10.50.1.0/24 via 169.254.10.2');
    expect(table).toMatch(/10\.50\.2\.0\/24 via 169\.254\.10\.2 .*metric 2000/);
    expect(table).not.toContain('192.0.2.0');
    const count = await status.routeCount({ neighborId: 'dx-1' });
    expect(count.matched).toBe(2);
  });

  it('announces the VPC subnet to on-prem and nothing learnt from on-prem back', async () => {
    const reply = await waitFor('on-prem learns 10.1.0.0/24', async () => {
      const r = await onpremControl.command('show route protocol junction1');
      return r.lines.some((l) => l.text.includes('10.1.0.0/24')) && r;
    });
    expect(reply.lines.filter((l) => /^\d+\.\d+\.\d+\.\d+\//.test(l.text.trim())).map((l) => l.text.trim().split(/\s+/)[0])).toEqual(['10.1.0.0/24']);
  });

  it('skips reconfigure for an unchanged rendering', async () => {
    const same = renderBirdConfig({ section: junctionSection({ password: md5.supported ? PASSWORD : undefined }), vpcSubnets });
    expect(await applier.apply(same)).toEqual({ changed: false, messages: [], pendingConfirm: false });
  });

  it('changing one neighbor (dx-2 hold time) restarts only that one', async () => {
    const before1 = await neighbor('dx-1');
    const before2 = await neighbor('dx-2');
    await agePastJitter(before1); // a flap from here on moves "since" by more than the jitter bound
    await agePastJitter(before2);
    const outcome = await applier.apply(renderBirdConfig({ section: junctionSection({ password: md5.supported ? PASSWORD : undefined, dx2HoldTime: 60 }), vpcSubnets }));
    expect(outcome.changed).toBe(true);
    const after2 = await waitFor('dx-2 re-established with hold time 60', async () => {
      const n = await neighbor('dx-2');
      return n.established && n.holdTime === 60 && n;
    });
    const after1 = await neighbor('dx-1');
    console.log(`[bgp-bird] dx-1 since ${before1.since} -> ${after1.since}; dx-2 since ${before2.since} -> ${after2.since}`);
    expectSameSession(after1, before1, 'dx-1');
    expect(after1.established).toBe(true);
    expectNewSession(after2, before2, 'dx-2');
  });

  it('commit-confirm: configure with timeout rolls back by itself unless confirmed', async () => {
    const base = junctionSection({ password: md5.supported ? PASSWORD : undefined, dx2HoldTime: 60 });
    const trial = renderBirdConfig({ section: { ...base, neighbors: [base.neighbors[0], { ...base.neighbors[1], enabled: false }] }, vpcSubnets });
    const outcome = await applier.apply(trial, { confirmTimeoutS: 2 });
    expect(outcome.messages.join(' ')).toMatch(/Undo scheduled in 2 s/);
    await waitFor('dx-2 disabled by the trial config', async () => (await neighbor('dx-2')).bgpState === 'Down', 5_000, 50);
    // no confirm: BIRD goes back to the previous config, dx-2 comes back
    await waitFor('dx-2 re-enabled by the automatic undo', async () => (await neighbor('dx-2')).established, 30_000, 200);
    await sleep(700);
    expect(await applier.running()).not.toBe(trial);
  });

  it('BFD: dropping dx-1 packets on the peer withdraws its routes in about a second (hold time is 90 s)', async () => {
    const bfdUp = await waitFor('dx-1 BFD up', async () => (await neighbor('dx-1')).bfd?.state === 'Up', 15_000).catch(async (e: Error) => {
      const raw = await junctionControl.command('show bfd sessions').catch((x: Error) => x.message);
      throw new Error(`${e.message}; show bfd sessions: ${JSON.stringify(raw)}`);
    });
    expect(bfdUp).toBe(true);
    await waitFor('routes via dx-1', async () => (await kernelRoutes()).includes('10.50.1.0/24 via 169.254.10.2'));
    // Only a session that both ends see Up makes the timing a BFD measurement.
    const onpremBfd = async () => (await onpremControl.command('show bfd sessions')).lines.map((l) => l.text.trim()).find((t) => t.startsWith('169.254.10.1')) ?? '';
    await waitFor('BFD Up on both ends', async () => (await neighbor('dx-1')).bfd?.state === 'Up' && /\sUp\s/.test(await onpremBfd()), 20_000, 200)
      .catch(async (e: Error) => { throw new Error(`${e.message}: junction ${JSON.stringify((await neighbor('dx-1')).bfd)}, on-prem "${await onpremBfd()}"`); });
    const nft = await runner.run('ip', ['netns', 'exec', nsOnprem, 'nft', 'add table inet jnbbfd; add chain inet jnbbfd in { type filter hook input priority 0; policy accept; }; add rule inet jnbbfd in iifname "' + links[0].onpremIf + '" drop']);
    const cut = nft.code === 0 ? 'nft drop on the peer' : 'link down';
    if (nft.code !== 0) await ip('-n', nsOnprem, 'link', 'set', links[0].onpremIf, 'down');
    try {
      const start = Date.now();
      await waitFor('routes to move off dx-1', async () => !(await kernelRoutes()).includes('via 169.254.10.2'), 10_000, 20).catch(async (e: Error) => {
        const mine = (await junctionControl.command('show bfd sessions')).lines.map((l) => l.text).join(' / ');
        const theirs = (await onpremControl.command('show bfd sessions')).lines.map((l) => l.text).join(' / ');
        throw new Error(`${e.message}; junction: ${mine}; on-prem: ${theirs}`);
      });
      const elapsed = Date.now() - start;
      const table = await kernelRoutes();
      console.log(`[bgp-bird] BFD (${cut}): routes via dx-1 withdrawn after ${elapsed} ms; now:\n${table.trim()}`);
      expect(elapsed).toBeLessThan(3000);
      expect(table).toContain('10.50.1.0/24 via 169.254.20.2'); // the second Direct Connect takes over
      expect((await neighbor('dx-1')).established).toBe(false);
    } finally {
      if (nft.code === 0) await runner.run('ip', ['netns', 'exec', nsOnprem, 'nft', 'delete table inet jnbbfd']);
      else await ip('-n', nsOnprem, 'link', 'set', links[0].onpremIf, 'up');
    }
  });

  it('MD5: a wrong password on the peer keeps the session down', async (ctx) => {
    if (!md5.supported) {
      console.log(`[bgp-bird] MD5 tests skipped: kernel has no TCP MD5 (${md5.detail})`);
      ctx.skip();
    }
    // BIRD waits out its error wait time (60 s) after the BFD cut above
    await waitFor('dx-1 Established before the test', async () => (await neighbor('dx-1')).established, 110_000, 250);
    const good = path.join(path.dirname(onprem.configFile), 'bird.conf');
    const wrong = path.join(path.dirname(onprem.configFile), 'wrong.conf');
    writeFileSync(wrong, onpremConfig('not-the-key'));
    await onpremControl.command(`configure "${wrong}"`);
    try {
      await waitFor('dx-1 to drop', async () => !(await neighbor('dx-1')).established);
      await sleep(6000);
      const down = await neighbor('dx-1');
      console.log(`[bgp-bird] wrong password: dx-1 ${down.state}/${down.bgpState}, last error: ${down.lastError ?? '-'}`);
      expect(down.established).toBe(false);
      expect((await neighbor('dx-2')).established).toBe(true);
    } finally {
      await onpremControl.command(`configure "${good}"`);
    }
    await waitFor('dx-1 back with the right password', async () => (await neighbor('dx-1')).established, 110_000, 250);
  });

  it('soft and hard neighbor resets', async () => {
    // settled: Established and the same session two seconds apart (the peer's reconfigure can bounce it once more)
    const before = await waitFor('dx-1 settled', async () => {
      const first = await neighbor('dx-1');
      await sleep(2000);
      const second = await neighbor('dx-1');
      return first.established && second.established && sameSession(second, first) && second;
    }, 110_000, 250);
    await agePastJitter(before);
    expect(await softResetNeighbor(junctionControl, 'dx-1', 'in')).toMatch(/reloading/);
    await sleep(1100);
    expectSameSession(await neighbor('dx-1'), before, 'dx-1 after a soft reset');
    expect(await resetNeighbor(junctionControl, 'dx-1')).toMatch(/restarted/);
    const after = await waitFor('dx-1 after restart', async () => {
      const n = await neighbor('dx-1');
      return n.established && n;
    }, 110_000, 250);
    expectNewSession(after, before, 'dx-1 after a hard reset');
  });

  it('supervision: a killed bird is started again and the sessions come back', async () => {
    const oldPid = junction.pid as number;
    junctionControl.close();
    process.kill(oldPid, 'SIGKILL');
    await waitFor('bird restarted', async () => junction.pid !== undefined && junction.pid !== oldPid && junction.restarts > 0, 20_000, 100);
    const control = await waitFor('socket back', async () => BirdSocket.connect(junction.socketPath).catch(() => undefined), 20_000, 200);
    junctionControl = control;
    status = new BgpStatusReader(control);
    applier = new BirdApplier({ runner, bird: control, configFile: junction.configFile });
    await waitFor('dx-1 Established after restart', async () => (await neighbor('dx-1')).established, 60_000, 250);
  });
});
