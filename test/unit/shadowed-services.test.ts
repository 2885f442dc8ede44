// appliance/subsystems/firewall/shadowed-services.ts: a port forward or 1:1
// NAT that captures the router's own API or another self-service is
// accepted with a warning naming the forward and what it hides.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Config } from '../../appliance/model/schema.js';
import { documentValidator } from '../../appliance/model/validate.js';
import { FirewallSubsystem } from '../../appliance/subsystems/firewall/index.js';
import { NO_CAPABILITIES } from '../../appliance/platform/capabilities.js';
import { RecordingCommandRunner } from '../support/recording-runner.js';
import { dhcpClientSelfServices } from '../../appliance/subsystems/links/self-services.js';
import { ikeSelfServices } from '../../appliance/subsystems/vpn/self-services.js';
import { bgpSelfServices } from '../../appliance/subsystems/bgp/self-services.js';

const validateConfig = documentValidator();
const demo = (): Config => validateConfig(parseYaml(readFileSync(new URL('../lab-kit/demo.yaml', import.meta.url), 'utf8')));
const LAB_API_PORT = 8080;
/** What the other subsystems ask of the firewall, as the composition root gathers it. */
const needs = (c: Config) => ({ selfServices: [...dhcpClientSelfServices(c), ...ikeSelfServices(c), ...bgpSelfServices(c)] });
const warnings = (config: Config, apiPort: number | undefined = LAB_API_PORT) =>
  new FirewallSubsystem(new RecordingCommandRunner(), '/nonexistent', () => apiPort, undefined, needs).verify(config, NO_CAPABILITIES);

describe('port forwards that shadow a service of the router', () => {
  it('the demo (as the lab runs it, API on 8080) shadows nothing', () => {
    expect(warnings(demo())).toEqual([]);
  });

  it('a forward of the API port on a ccnn interface: a warning at its port, naming the API', () => {
    const c = demo();
    c.nat!.port_forwards![0].port = 8080;
    expect(warnings(c)).toEqual([{
      path: '/nat/port_forwards/0/port',
      message: "tcp 8080 on ccnn0 is also the router's REST API (tcp/8080): this forward sends those connections to 10.1.0.11 instead",
      severity: 'warning',
    }]);
    // a range that covers the port counts; the API port follows system.api_port and the listen port
    c.nat!.port_forwards![0].port = '8000-8100';
    expect(warnings(c)).toHaveLength(1);
    expect(warnings(c, 9090)).toEqual([]);
    c.system = { ...c.system, api_port: 8050 };
    expect(warnings(c, 9090)[0]?.message).toMatch(/REST API \(tcp\/8050\)/);
  });

  it('no warning when the API is not open there, or the forward is for another address or protocol', () => {
    const elsewhere = demo();
    elsewhere.nat!.port_forwards![0].port = 8080;
    elsewhere.system = { ...elsewhere.system, api_zones: ['vpc-a'] };
    expect(warnings(elsewhere)).toEqual([]);
    const external = demo();
    external.nat!.port_forwards![0] = { ...external.nat!.port_forwards![0], port: 8080, external_address: '100.64.0.9' };
    expect(warnings(external)).toEqual([]);
    external.nat!.port_forwards![0].external_address = '100.64.0.2'; // the router's own: shadows again
    expect(warnings(external)).toHaveLength(1);
    const udp = demo();
    udp.nat!.port_forwards![0] = { ...udp.nat!.port_forwards![0], port: 8080, protocol: 'udp' };
    expect(warnings(udp)).toEqual([]);
  });

  it('other self-services: BGP on its dx link, unless the forward only admits other sources', () => {
    const c = demo();
    c.interfaces.push({ name: 'dx0', role: 'dx', zone: 'dx', addresses: ['169.254.10.1/30'] });
    c.zones.push({ name: 'dx' });
    c.bgp = { asn: 65001, router_id: '169.254.10.1', neighbors: [{ id: 'onprem', address: '169.254.10.2', remote_asn: 65002, interface: 'dx0' }] } as Config['bgp'];
    c.nat!.port_forwards!.push({ id: 'bgp-in', interface: 'dx0', protocol: 'tcp', port: 179, to_address: '10.1.0.12' });
    const found = warnings(c);
    expect(found).toEqual([expect.objectContaining({ path: '/nat/port_forwards/1/port', message: expect.stringContaining('junction:bgp-onprem (tcp/179)') })]);
    c.nat!.port_forwards![1].allowed_sources = ['192.0.2.0/24'];
    expect(warnings(c)).toEqual([]);
  });

  it('a 1:1 NAT on the router\'s own address captures every service on its interface', () => {
    const c = demo();
    c.nat!.one_to_one = [{ id: 'whole', interface: 'ccnn0', external: '100.64.0.2', internal: '10.1.0.11' }];
    expect(warnings(c)).toEqual([expect.objectContaining({ path: '/nat/one_to_one/0/external', severity: 'warning', message: expect.stringContaining("including the router's REST API (tcp/8080)") })]);
    c.nat!.one_to_one[0].external = '100.64.0.50';
    expect(warnings(c)).toEqual([]);
  });
});
