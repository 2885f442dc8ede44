// The configuration side of the DHCP subsystem with a fake dnsmasq: drift
// by content (the file on disk and the file dnsmasq was started with),
// adoption of the dnsmasq an earlier Junction left (nothing restarted when
// it runs the rendering), and the stop when no interface is served.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DhcpConfiguration, type DnsmasqDaemon } from '../../../appliance/subsystems/dhcp/config.js';
import { dnsmasqPaths } from '../../../appliance/subsystems/dhcp/dnsmasq-process.js';
import { inactiveDhcpArtifact, renderDhcp } from '../../../appliance/subsystems/dhcp/render.js';
import type { Config } from '../../../appliance/model/schema.js';
import { RecordingCommandRunner } from '../../support/recording-runner.js';
import { memoryLogger } from '../../support/memory-logger.js';

const config = (lease = 3600): Config => ({
  interfaces: [{ name: 'vpc0', role: 'vpc', zone: 'a', addresses: ['10.1.0.1/24'] }],
  zones: [{ name: 'a' }],
  dhcp: { servers: [{ interface: 'vpc0', ranges: [{ start: '10.1.0.100', end: '10.1.0.199' }], lease_time_s: lease }] },
});

describe('DhcpConfiguration', () => {
  let stateDir: string;
  let pid: number | undefined;
  let adoptable: number | undefined;
  let starts: number;
  let stops: number;

  const make = () => {
    const fake: DnsmasqDaemon = {
      get pid() { return pid; },
      restarts: 0, origin: undefined, files: dnsmasqPaths(join(stateDir, 'dnsmasq')),
      adopt: async () => (pid = adoptable),
      start: async () => { starts++; pid = 7000 + starts; return pid; },
      stop: async () => { stops++; pid = undefined; },
      detach: () => undefined,
      recentLog: () => [],
    };
    return new DhcpConfiguration({ runner: new RecordingCommandRunner(), stateDir, log: memoryLogger(), launchDnsmasq: () => fake });
  };

  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'junction-dhcp-config-'));
    pid = undefined;
    adoptable = undefined;
    starts = 0;
    stops = 0;
  });
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  it('reports drift by content and repairs it with a restart', async () => {
    const dhcp = make();
    const desired = renderDhcp(config());
    expect(await dhcp.drift(desired)).toEqual(['dnsmasq is not running while the dhcp section serves interfaces']);
    expect(await dhcp.apply(desired)).toEqual(['start dnsmasq (pid 7001)']);
    expect(await dhcp.drift(desired)).toEqual([]);
    expect(await dhcp.apply(desired)).toEqual([]);

    // edited by hand: dnsmasq still runs the rendering, the file does not say so
    const file = join(stateDir, 'dnsmasq', 'dnsmasq.conf');
    writeFileSync(file, desired.text.replace(',3600', ',60'));
    expect(await dhcp.drift(desired)).toEqual([
      'dnsmasq.conf differs from the rendering: - dnsmasq: dhcp-range=10.1.0.100,10.1.0.199,255.255.255.0,60; + dnsmasq: dhcp-range=10.1.0.100,10.1.0.199,255.255.255.0,3600',
    ]);
    expect(await dhcp.apply(desired)).toEqual(['rewrite dnsmasq.conf (dnsmasq already runs this configuration)']);
    expect(starts).toBe(1);

    // a new rendering: dnsmasq runs the old one until it is restarted
    const changed = renderDhcp(config(600));
    expect(await dhcp.drift(changed)).toEqual(expect.arrayContaining([expect.stringContaining('dnsmasq runs another configuration than the rendering: - dnsmasq: dhcp-range=10.1.0.100,10.1.0.199,255.255.255.0,3600')]));
    expect(await dhcp.apply(changed)).toEqual(['restart dnsmasq (pid 7001 -> 7002): its configuration changed']);
    expect(await dhcp.drift(changed)).toEqual([]);
  });

  it('adopts the dnsmasq an earlier Junction left and restarts nothing that matches', async () => {
    const desired = renderDhcp(config());
    const earlier = make();
    await earlier.apply(desired);
    await earlier.detach();
    adoptable = pid;
    const next = make();
    expect(await next.apply(desired)).toEqual([]);
    expect({ pid, starts }).toEqual({ pid: 7001, starts: 1 });
    expect(await next.drift(desired)).toEqual([]);
  });

  it('a dnsmasq that died is stopped (its supervision ended) before one is started again', async () => {
    const dhcp = make();
    const desired = renderDhcp(config());
    await dhcp.apply(desired);
    pid = undefined; // died; its supervisor is between restarts
    expect(await dhcp.drift(desired)).toEqual(['dnsmasq is not running while the dhcp section serves interfaces']);
    expect(await dhcp.apply(desired)).toEqual(['start dnsmasq (pid 7002)']);
    expect({ stops, starts }).toEqual({ stops: 1, starts: 2 });
  });

  it('stops dnsmasq when no interface is served, and says when it runs without a section', async () => {
    const dhcp = make();
    await dhcp.apply(renderDhcp(config()));
    expect(await dhcp.drift(inactiveDhcpArtifact())).toEqual(['dnsmasq runs but no interface is served']);
    expect(await dhcp.apply(inactiveDhcpArtifact())).toEqual(['stop dnsmasq (no interface served)']);
    expect(pid).toBeUndefined();
    expect(await dhcp.drift(inactiveDhcpArtifact())).toEqual([]);
    expect(await dhcp.apply(inactiveDhcpArtifact())).toEqual([]);
  });
});
