import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prefixSetItem, renderBirdConfig } from '../../../appliance/subsystems/bgp/render.js';
import type { BgpSection } from '../../../appliance/subsystems/bgp/schema.js';
import { verifyBgp } from '../../../appliance/subsystems/bgp/verify.js';

const dx: BgpSection = {
  asn: 64512,
  router_id: '169.254.10.1',
  neighbors: [{ id: 'dx-1', address: '169.254.10.2', remote_asn: 7224, interface: 'eth3' }],
};
const vpcSubnets = [{ prefix: '10.1.0.0/24', interface: 'eth1' }, { prefix: '10.2.0.0/24' }];

/** The text of one top-level block, from its opening line to its closing "}". */
function block(conf: string, opening: string): string {
  const start = conf.indexOf(`${opening} {`);
  expect(start, `no block "${opening}"`).toBeGreaterThanOrEqual(0);
  return conf.slice(start, conf.indexOf('\n}\n', start) + 2);
}

const birdAvailable = spawnSync('bird', ['--version']).status === 0;
function birdParses(conf: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'jnb-render-'));
  writeFileSync(path.join(dir, 'bird.conf'), conf);
  const r = spawnSync('bird', ['-p', '-c', path.join(dir, 'bird.conf')], { encoding: 'utf8' });
  rmSync(dir, { recursive: true, force: true });
  return r.status === 0 ? 'ok' : r.stderr;
}

describe('renderBirdConfig', () => {
  it('renders the Direct Connect profile by default', () => {
    const conf = renderBirdConfig({ section: dx, vpcSubnets });
    expect(block(conf, "protocol bgp 'bgp_dx-1'")).toBe([
      "protocol bgp 'bgp_dx-1' {",
      '  description "dx-1";',
      '  local as 64512;',
      '  neighbor 169.254.10.2 as 7224;',
      '  interface "eth3";',
      '  direct;',
      '  hold time 90;',
      '  connect retry time 5;',
      '  error wait time 5, 60;',
      '  graceful restart on;',
      '  graceful restart time 120;',
      '  ipv4 {',
      "    import filter 'bgp_dx-1_import';",
      "    export filter 'bgp_dx-1_export';",
      '    # keep rejected routes visible in "show route filtered"',
      '    import keep filtered on;',
      '  };',
      '}',
    ].join('\n'));
    expect(conf).toContain('timeformat protocol iso long ms;');
    expect(conf).not.toContain('protocol bfd');
    expect(conf).not.toContain('password');
  });

  it('denies all imports from an eBGP neighbor without an import list, and never learns our own subnets', () => {
    const conf = renderBirdConfig({ section: dx, vpcSubnets });
    expect(block(conf, "filter 'bgp_dx-1_import'")).toBe([
      "filter 'bgp_dx-1_import' {",
      '  # never learn our own VPC subnets (or parts of them) from outside',
      '  if net ~ [ 10.1.0.0/24{24,32}, 10.2.0.0/24{24,32} ] then reject;',
      '  # eBGP without an import list: accept nothing (RFC 8212)',
      '  reject;',
      '}',
    ].join('\n'));
  });

  it('announces the VPC subnets by default: direct for those with an interface, static blackhole for the rest', () => {
    const conf = renderBirdConfig({ section: dx, vpcSubnets });
    expect(block(conf, "filter 'bgp_dx-1_export'")).toContain('if !(net ~ [ 10.1.0.0/24, 10.2.0.0/24 ]) then reject;');
    expect(block(conf, "protocol direct 'vpc_direct4'")).toContain('interface "eth1";');
    expect(block(conf, "protocol static 'originate4'")).toContain('route 10.2.0.0/24 blackhole;');
    expect(block(conf, "protocol static 'originate4'")).not.toContain('10.1.0.0/24');
  });

  it('exports only BGP routes to the kernel, with the documented metric', () => {
    const conf = renderBirdConfig({ section: dx, vpcSubnets });
    const kernel = block(conf, "protocol kernel 'kernel4'");
    expect(kernel).toContain('export filter { if source = RTS_BGP then accept; reject; };');
    expect(kernel).toContain('metric 2000;');
    expect(kernel).toContain('learn off;');
    expect(conf).not.toContain("protocol kernel 'kernel6'");
    expect(renderBirdConfig({ section: { ...dx, kernel: { metric: 300 } }, vpcSubnets })).toContain('  metric 300;');
  });

  it('renders MD5, BFD, limits, timers, multihop, local address and disabled', () => {
    const conf = renderBirdConfig({
      section: {
        ...dx,
        neighbors: [{
          id: 'dx-1', address: '169.254.10.2', remote_asn: 7224, local_address: '169.254.10.1', password: 'k3y!',
          hold_time: 30, keepalive: 10, bfd: { interval_ms: 100 }, graceful_restart: { restart_time_s: 60 },
          multihop: 2, max_prefix: { limit: 100, action: 'restart' }, enabled: false,
        }],
      },
      vpcSubnets,
    });
    const bgp = block(conf, "protocol bgp 'bgp_dx-1'");
    expect(bgp).toContain('  local 169.254.10.1 as 64512;');
    expect(bgp).toContain('  multihop 2;');
    expect(bgp).not.toContain('direct;');
    expect(bgp).toContain('  hold time 30;\n  keepalive time 10;');
    expect(bgp).toContain('  graceful restart time 60;');
    expect(bgp).toContain('  password "k3y!";');
    expect(bgp).toContain('  bfd { interval 100 ms; multiplier 3; };');
    // BFD down during the peer's restart must not defeat graceful restart
    expect(bgp).toContain('  bfd { interval 100 ms; multiplier 3; };\n  bfd graceful;');
    expect(bgp).toContain('  disabled;');
    expect(bgp).toContain('    import limit 100 action restart;');
    expect(conf).toContain("protocol bfd 'bfd1' {");
  });

  it('renders graceful restart off and BFD defaults (300 ms x 3)', () => {
    const conf = renderBirdConfig({ section: { ...dx, neighbors: [{ ...dx.neighbors[0], bfd: true, graceful_restart: false }] }, vpcSubnets });
    expect(conf).toContain('  graceful restart off;');
    expect(conf).toContain('  bfd { interval 300 ms; multiplier 3; };');
    expect(conf).not.toContain('bfd graceful');
  });

  it('renders import prefix sets with ge/le, local preference, and export policy with prepend and MED', () => {
    const conf = renderBirdConfig({
      section: {
        ...dx,
        neighbors: [{
          ...dx.neighbors[0],
          import: { prefixes: [{ prefix: '192.168.0.0/16', le: 24 }, { prefix: '10.50.0.0/16', ge: 20 }, { prefix: '0.0.0.0/0' }, { prefix: '172.16.0.0/12', ge: 16, le: 20 }] },
          export: { prefixes: [{ prefix: '10.0.0.0/14' }, { prefix: '10.1.0.0/16', le: 24 }] },
          local_pref: 200, prepend: 2, med: 50,
        }],
      },
      vpcSubnets,
    });
    expect(block(conf, "filter 'bgp_dx-1_import'")).toContain(
      '  if net ~ [ 0.0.0.0/0, 10.50.0.0/16{20,32}, 172.16.0.0/12{16,20}, 192.168.0.0/16{16,24} ] then { bgp_local_pref = 200; accept; }\n  reject;',
    );
    expect(block(conf, "filter 'bgp_dx-1_export'")).toBe([
      "filter 'bgp_dx-1_export' {",
      '  # only what we originate: never pass routes learnt from one peer to another',
      '  if !(source ~ [ RTS_STATIC, RTS_DEVICE ]) then reject;',
      '  if !(net ~ [ 10.0.0.0/14, 10.1.0.0/16{16,24} ]) then reject;',
      '  bgp_path.prepend(64512);',
      '  bgp_path.prepend(64512);',
      '  bgp_med = 50;',
      '  accept;',
      '}',
    ].join('\n'));
    // an exact export prefix that is no VPC subnet (an aggregate) is originated
    expect(block(conf, "protocol static 'originate4'")).toContain('route 10.0.0.0/14 blackhole;');
  });

  it('accepts everything from an iBGP neighbor without an import list and does not prepend', () => {
    const conf = renderBirdConfig({ section: { ...dx, neighbors: [{ id: 'core', address: '10.9.0.1', remote_asn: 64512, multihop: 3, prepend: 3 }] }, vpcSubnets: [] });
    expect(block(conf, "filter 'bgp_core_import'")).toContain('  # iBGP without an import list: accept everything\n  accept;');
    expect(conf).not.toContain('prepend');
    expect(block(conf, "filter 'bgp_core_export'")).toContain('  # nothing to announce\n  reject;');
  });

  it('renders IPv6 neighbors on an ipv6 channel and kernel protocol', () => {
    const conf = renderBirdConfig({
      section: { ...dx, neighbors: [{ id: 'v6', address: '2001:db8::2', remote_asn: 7224, import: { prefixes: [{ prefix: '2001:db8:100::/40', le: 48 }] } }] },
      vpcSubnets: [{ prefix: '2001:db8:1::/64', interface: 'eth1' }, { prefix: '10.1.0.0/24', interface: 'eth1' }],
    });
    expect(conf).toContain("protocol kernel 'kernel6'");
    expect(conf).not.toContain("protocol kernel 'kernel4'");
    expect(block(conf, "protocol bgp 'bgp_v6'")).toContain('  ipv6 {');
    expect(block(conf, "filter 'bgp_v6_import'")).toContain('2001:db8:100::/40{40,48}');
    expect(block(conf, "filter 'bgp_v6_export'")).toContain('if !(net ~ [ 2001:db8:1::/64 ]) then reject;');
  });

  it('is deterministic and ignores the order of neighbors and subnets', () => {
    const two: BgpSection = { ...dx, neighbors: [dx.neighbors[0], { id: 'dx-2', address: '169.254.20.2', remote_asn: 7224 }] };
    const a = renderBirdConfig({ section: two, vpcSubnets });
    expect(renderBirdConfig({ section: two, vpcSubnets })).toBe(a);
    expect(renderBirdConfig({ section: { ...two, neighbors: [...two.neighbors].reverse() }, vpcSubnets: [...vpcSubnets].reverse() })).toBe(a);
    expect(a.indexOf("protocol bgp 'bgp_dx-1'")).toBeLessThan(a.indexOf("protocol bgp 'bgp_dx-2'"));
  });

  it('writes prefix-set items the way BIRD reads them', () => {
    expect(prefixSetItem({ prefix: '10.0.0.0/8' })).toBe('10.0.0.0/8');
    expect(prefixSetItem({ prefix: '10.0.0.0/8', ge: 16 })).toBe('10.0.0.0/8{16,32}');
    expect(prefixSetItem({ prefix: '10.0.0.0/8', le: 24 })).toBe('10.0.0.0/8{8,24}');
    expect(prefixSetItem({ prefix: '2001:0db8:0000::/32', ge: 48, le: 64 })).toBe('2001:db8::/32{48,64}');
  });

  it('produces configs that bird -p accepts', () => {
    expect(birdAvailable, 'bird is not installed (Debian package bird2): run bash appliance/scripts/setup.sh').toBe(true);
    const full = renderBirdConfig({
      section: {
        ...dx,
        neighbors: [
          { id: 'dx-1', address: '169.254.10.2', remote_asn: 7224, interface: 'eth3', password: 'x', bfd: true, max_prefix: { limit: 100, action: 'block' }, import: { prefixes: [{ prefix: '10.50.0.0/16', le: 24 }] }, prepend: 1, med: 5, local_pref: 150 },
          { id: 'dx_2', address: '2001:db8::2', remote_asn: 7224, multihop: 2, enabled: false, export: { prefixes: [{ prefix: '2001:db8:100::/48' }] } },
          { id: 'core', address: '10.9.0.1', remote_asn: 64512, multihop: 3 },
        ],
      },
      vpcSubnets: [...vpcSubnets, { prefix: '2001:db8:1::/64', interface: 'eth1' }],
    });
    expect(birdParses(full)).toBe('ok');
    expect(birdParses(renderBirdConfig({ section: { ...dx, neighbors: [] }, vpcSubnets: [] }))).toBe('ok');
  });
});

describe('verifyBgp', () => {
  it('names each problem by its path', () => {
    const problems = verifyBgp({
      asn: 64512, router_id: '169.254.10.1',
      neighbors: [
        { id: 'a', address: '10.0.0.1', remote_asn: 1, interface: 'eth1', keepalive: 90, import: { prefixes: [{ prefix: '10.0.0.5/8' }, { prefix: '10.0.0.0/16', ge: 8 }, { prefix: '2001:db8::/32' }] } },
        { id: 'a', address: '10.0.0.2', remote_asn: 1, local_address: '2001:db8::1', interface: 'eth0', multihop: 2 },
      ],
    }, { interfaces: [{ name: 'eth1', role: 'vpc' }] });
    expect(problems.map((p) => p.path)).toEqual([
      '/bgp/neighbors/0/interface', '/bgp/neighbors/0/keepalive',
      '/bgp/neighbors/0/import/prefixes/0/prefix', '/bgp/neighbors/0/import/prefixes/1', '/bgp/neighbors/0/import/prefixes/2/prefix',
      '/bgp/neighbors/1/id', '/bgp/neighbors/1/local_address', '/bgp/neighbors/1/interface', '/bgp/neighbors/1/interface',
    ]);
  });

  it('accepts a valid section', () => {
    expect(verifyBgp(dx, { interfaces: [{ name: 'eth3', role: 'dx' }] })).toEqual([]);
  });
});
