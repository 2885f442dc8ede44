// What BGP needs from the machine: a BIRD 2 that parses the configuration
// Junction renders (`bird -p -c`, with a password, BFD, prefix filters and
// an IPv6 neighbor), and its kernel probe (TCP MD5 for BGP passwords).
// Run by platform/doctor.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { firstLine, PROBE_TIMEOUT_MS, type CapabilityProbe, type Requirement, type SubsystemRequirements } from '../../platform/requirements.js';
import { renderBirdConfig } from './render.js';
import { probeTcpMd5 } from './md5-probe.js';

/** A rendering that uses what Junction's BGP section can ask of BIRD. */
export function sampleBirdConfig(): string {
  return renderBirdConfig({
    section: {
      asn: 64512,
      router_id: '192.0.2.1',
      neighbors: [
        { id: 'dx-1', address: '169.254.10.2', remote_asn: 7224, interface: 'lo', password: 'doctor', bfd: true, max_prefix: { limit: 100, action: 'block' }, import: { prefixes: [{ prefix: '10.50.0.0/16', le: 24 }] }, prepend: 1, med: 5, local_pref: 150 },
        { id: 'v6', address: '2001:db8::2', remote_asn: 7224, multihop: 2, export: { prefixes: [{ prefix: '2001:db8:100::/48' }] } },
      ],
    },
    vpcSubnets: [{ prefix: '10.1.0.0/24', interface: 'lo' }],
  });
}

const birdParses: Requirement = {
  id: 'bgp.bird-parses',
  need: 'feature',
  what: 'bird (BIRD 2) parses the configuration Junction renders',
  packages: ['bird2'],
  async check({ runner }) {
    const dir = mkdtempSync(path.join(tmpdir(), 'junction-doctor-bird-'));
    try {
      const file = path.join(dir, 'bird.conf');
      writeFileSync(file, sampleBirdConfig());
      const result = await runner.run('bird', ['-p', '-c', file], { timeoutMs: PROBE_TIMEOUT_MS });
      if (result.code === 0) return { ok: true, detail: 'bird -p -c accepted a rendered configuration' };
      return { ok: false, detail: result.code === 127 ? 'bird is not installed' : `bird -p rejected a rendered configuration: ${firstLine(result.stderr || result.stdout, `exit ${result.code}`)}` };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

/** TCP MD5: the kernel config, else a throwaway bird session (md5-probe.ts). A probe that fails assumes support and says so. */
const probeMd5: CapabilityProbe = async (runner) => {
  const tcpMd5 = await probeTcpMd5(runner).catch((error: Error) => ({ supported: true, how: 'unknown', detail: `probe failed (${error.message}); assuming support` }));
  return { tcpMd5, notes: tcpMd5.supported ? [] : [`TCP MD5 signatures unavailable (${tcpMd5.detail}); BGP neighbors cannot use a password`] };
};

export const bgpRequirements: SubsystemRequirements = {
  subsystem: 'bgp',
  requirements: [birdParses],
  capabilities: probeMd5,
};
