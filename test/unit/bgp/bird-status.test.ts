import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseReplies } from '../../../appliance/subsystems/bgp/reply-codes.js';
import { BgpStatusReader, birdTimeToIso, parseBfdSessions, parseProtocols, parseRouteCount } from '../../../appliance/subsystems/bgp/bird-status.js';
import { FakeBird } from '../../support/fake-bird.js';

// Raw control-socket replies captured from BIRD 2.0.12 in two lab namespaces.
const fixture = (name: string) => {
  const replies = parseReplies(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
  expect(replies).toHaveLength(1);
  return replies[0];
};

describe('show protocols all', () => {
  it('reads an established session with keep-filtered counts', () => {
    const [p] = parseProtocols(fixture('established-keep-filtered.raw'));
    expect(p).toMatchObject({
      name: 'onprem', proto: 'BGP', state: 'up', bgpState: 'Established',
      since: birdTimeToIso('2026-11-21 23:52:52'),
      neighborAddress: '169.254.10.2', neighborAs: 65000, localAs: 64512, neighborId: '169.254.10.2',
      sourceAddress: '169.254.10.1', holdTime: 240, keepaliveTime: 80,
      routes: { imported: 2, filtered: 1, exported: 0, preferred: 2 },
    });
    expect(p.lastError).toBeUndefined();
    expect(p.channels).toEqual([{
      name: 'ipv4', state: 'UP',
      routes: { imported: 2, filtered: 1, exported: 0, preferred: 2 },
      importLimit: { limit: 200, action: 'block' },
      importUpdates: { received: 3, rejected: 0, filtered: 1, ignored: 0, accepted: 2 },
    }]);
  });

  it('reads a session kept down (wrong MD5 password) with its last error', () => {
    const [p] = parseProtocols(fixture('wrong-password.raw'));
    expect(p).toMatchObject({ state: 'start', bgpState: 'Connect', lastError: 'Received: Other configuration change' });
    expect(p.routes).toEqual({ imported: 0, filtered: 0, exported: 0, preferred: 0 });
    expect(p.channels[0].state).toBe('DOWN');
  });

  it('reads a disabled protocol', () => {
    const [p] = parseProtocols(fixture('disabled.raw'));
    expect(p).toMatchObject({ state: 'down', bgpState: 'Down', info: '' });
  });

  it('reads every protocol of a full listing, with or without details', () => {
    const all = parseProtocols(fixture('show-protocols-all.raw'));
    expect(all.map((p) => [p.name, p.proto, p.state])).toEqual([
      ['device1', 'Device', 'up'], ['kernel1', 'Kernel', 'up'], ['bfd1', 'BFD', 'up'], ['onprem', 'BGP', 'up'],
    ]);
    expect(all[1].routes.exported).toBe(2);
    const brief = parseProtocols(fixture('show-protocols.raw'));
    expect(brief.map((p) => p.name)).toEqual(['device1', 'kernel1', 'bfd1', 'onprem']);
    expect(brief[3].bgpState).toBe('Established');
  });
});

describe('show route count', () => {
  it('reads per-table rows and sums them', () => {
    expect(parseRouteCount(fixture('route-count.raw'))).toEqual({
      matched: 2,
      tables: [
        { table: 'master4', matched: 2, routes: 2, networks: 2 },
        { table: 'master6', matched: 0, routes: 0, networks: 0 },
      ],
    });
    expect(parseRouteCount(fixture('route-protocol-count.raw')).matched).toBe(2);
    expect(parseRouteCount(fixture('route-filtered-count.raw')).matched).toBe(1);
  });
});

describe('show bfd sessions', () => {
  it('reads sessions and an empty table', () => {
    expect(parseBfdSessions(fixture('bfd.raw'))).toEqual([{
      protocol: 'bfd1', address: '169.254.10.2', interface: 'jnbcapa', state: 'Up',
      since: birdTimeToIso('2026-11-21 23:52:48'), intervalS: 0.3, timeoutS: 0.9,
    }]);
    expect(parseBfdSessions(fixture('bfd-empty.raw'))).toEqual([]);
  });
});

describe('timestamps', () => {
  it('reads BIRD local time with and without milliseconds', () => {
    expect(birdTimeToIso('2026-01-02 03:04:05.678')).toBe(new Date(2026, 0, 2, 3, 4, 5, 678).toISOString());
    expect(birdTimeToIso('2026-01-02 03:04:05')).toBe(new Date(2026, 0, 2, 3, 4, 5).toISOString());
  });
});

describe('BgpStatusReader', () => {
  const established = readFileSync(new URL('./fixtures/established-keep-filtered.raw', import.meta.url), 'utf8').replaceAll('onprem', 'bgp_dx-1');
  const bfd = readFileSync(new URL('./fixtures/bfd.raw', import.meta.url), 'utf8');

  it('asks for one neighbor by its protocol name and attaches its BFD session', async () => {
    const bird = new FakeBird({ 'show protocols all "bgp_dx-1"': established, 'show bfd sessions': bfd });
    const n = await new BgpStatusReader(bird).neighbor('dx-1');
    expect(bird.sent).toEqual(['show protocols all "bgp_dx-1"', 'show bfd sessions']);
    expect(n).toMatchObject({ id: 'dx-1', established: true, routes: { imported: 2 }, bfd: { state: 'Up' } });
  });

  it('answers undefined for an unknown neighbor', async () => {
    const bird = new FakeBird({ 'show protocols all "bgp_nope"': '8003 No protocols match\n' });
    expect(await new BgpStatusReader(bird).neighbor('nope')).toBeUndefined();
  });
});
