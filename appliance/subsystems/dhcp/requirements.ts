// What DHCP and DNS for VPC hosts need from the machine: a dnsmasq that
// accepts the configuration Junction renders (`dnsmasq --test` on a sample
// with ranges, options, a reservation and the forwarder). Run by
// platform/doctor.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { firstLine, type Requirement, type SubsystemRequirements } from '../../platform/requirements.js';
import { renderDhcp } from './render.js';

/** A rendering that uses what Junction's dhcp section can ask of dnsmasq. */
export function sampleDnsmasqConfig(): string {
  return renderDhcp({
    interfaces: [{ name: 'vpc0', role: 'vpc', zone: 'vpc', addresses: ['10.1.0.1/24'], mtu: 9000 }],
    zones: [{ name: 'vpc' }],
    dhcp: {
      dns_forwarder: { upstream_servers: ['192.0.2.53', '2001:db8::53'] },
      servers: [{ interface: 'vpc0', ranges: [{ start: '10.1.0.100', end: '10.1.0.199' }], domain: 'vpc.internal', reservations: [{ mac: '02:00:00:00:00:01', address: '10.1.0.50', hostname: 'db' }] }],
    },
  }).text;
}

const dnsmasqParses: Requirement = {
  id: 'dhcp.dnsmasq-parses',
  need: 'feature',
  what: 'dnsmasq accepts the configuration Junction renders (DHCP and DNS for VPC hosts)',
  packages: ['dnsmasq-base'],
  async check({ runner }) {
    const dir = mkdtempSync(path.join(tmpdir(), 'junction-doctor-dnsmasq-'));
    try {
      const file = path.join(dir, 'dnsmasq.conf');
      writeFileSync(file, sampleDnsmasqConfig());
      const result = await runner.run('dnsmasq', ['--test', `--conf-file=${file}`], { timeoutMs: 10_000 });
      if (result.code === 0) return { ok: true, detail: 'dnsmasq --test accepted a rendered configuration' };
      return { ok: false, detail: result.code === 127 ? 'dnsmasq is not installed' : `dnsmasq --test rejected a rendered configuration: ${firstLine(result.stderr || result.stdout, `exit ${result.code}`)}` };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export const dhcpRequirements: SubsystemRequirements = {
  subsystem: 'dhcp',
  requirements: [dnsmasqParses],
};
