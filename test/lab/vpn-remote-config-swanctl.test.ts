// The strongSwan remote config, for real: a stock charon (own strongswan.conf,
// VICI socket and /run, started by CharonProcess) in a throwaway network
// namespace loads the generated swanctl.conf with
// `swanctl --load-all --file <file> --uri <socket>`, which must succeed and
// leave the connection (and its secret) loaded. Skipped without root; fails
// without charon or swanctl.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../appliance/model/schema.js';
import { SystemCommandRunner } from '../../appliance/platform/command-runner.js';
import { CharonProcess } from '../../appliance/subsystems/vpn/charon-process.js';
import { generateRemoteConfig, type RemoteConfigParams } from '../../appliance/subsystems/vpn/remote-config/index.js';
import { CHARON_TOOLS, requireTools } from './support/tools.js';

const isRoot = process.getuid?.() === 0;
requireTools('vpn-remote-config-swanctl', isRoot, [...CHARON_TOOLS, { program: 'swanctl', pkg: 'strongswan-swanctl' }, { program: 'ip', pkg: 'iproute2' }]);
const skipReason = isRoot ? '' : 'not root';
if (skipReason) console.log(`[remote-config-swanctl] skipped: ${skipReason}`);

const runner = new SystemCommandRunner();
const ns = `jnrc${process.pid}`;
const PSK = 'Junction-swanctl-psk-0123456789';

function peerDoc(peer: Record<string, unknown>): Config {
  return {
    interfaces: [{ name: 'ccnn0', role: 'ccnn', zone: 'ccnn', addresses: ['100.64.0.2/24'] }],
    zones: [{ name: 'ccnn' }],
    vpn: { peers: [peer as never] },
  };
}

const CASES: Record<string, Config | { doc: Config; params: RemoteConfigParams }> = {
  'IKEv2 GCM with FQDN ids': peerDoc({
    name: 'dc1', remote: '198.18.1.2', auth: { method: 'psk', psk: PSK }, local_id: 'junction.example.com', remote_id: 'onprem.example.com',
    ike_proposals: ['aes256gcm16-prfsha384-ecp384'],
    tunnels: [{ name: 'lan', local_subnets: ['10.1.0.0/24'], remote_subnets: ['192.168.50.0/24'], esp_proposals: ['aes256gcm16-ecp384'] }],
  }),
  'IKEv1 AES-CBC/SHA-256/DH14': peerDoc({
    name: 'legacy', remote: '203.0.113.10', ike_version: 1, auth: { method: 'psk', psk: PSK }, dpd_timeout_s: 60,
    ike_proposals: ['aes256-sha256-modp2048'],
    tunnels: [{ name: 'hq', local_subnets: ['10.1.0.0/24'], remote_subnets: ['172.16.0.0/16'], esp_proposals: ['aes256-sha256-modp2048'] }],
  }),
  'multi-subnet, defaults, PSK with quotes': peerDoc({
    name: 'branch', remote: '198.51.100.7', auth: { method: 'psk', psk: 'quote " and \\ backslash psk' }, nat_traversal: 'force',
    tunnels: [
      { name: 'vpcs', local_subnets: ['10.1.0.0/24', '10.2.0.0/24'], remote_subnets: ['192.168.50.0/24', '192.168.60.0/24'], pfs: false },
      { name: 'mgmt', local_subnets: ['10.1.0.10/32'], remote_subnets: ['192.168.99.0/24'], start_action: 'none', dpd_action: 'clear' },
    ],
  }),
  'two tunnels with the reqid parameter': {
    params: { reqid: 500 },
    doc: peerDoc({
      name: 'fitted', remote: '198.51.100.8', auth: { method: 'psk', psk: PSK },
      tunnels: [
        { name: 'a', local_subnets: ['10.1.0.0/24'], remote_subnets: ['192.168.70.0/24'] },
        { name: 'b', local_subnets: ['10.2.0.0/24'], remote_subnets: ['192.168.71.0/24'] },
      ],
    }),
  },
};

describe.skipIf(!!skipReason)('generated swanctl.conf loads into a stock charon', () => {
  const stateRoot = skipReason ? '' : mkdtempSync(path.join(tmpdir(), 'jnrc-'));
  let charon: CharonProcess;
  const swanctl = (...args: string[]) => runner.run('ip', ['netns', 'exec', ns, 'swanctl', ...args, '--uri', `unix://${charon.socketPath}`], { timeoutMs: 30_000 });

  beforeAll(async () => {
    const added = await runner.run('ip', ['netns', 'add', ns]);
    if (added.code !== 0) throw new Error(`ip netns add ${ns}: ${added.stderr}`);
    await runner.run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    charon = new CharonProcess({ stateDir: path.join(stateRoot, 'charon'), dataplane: 'libipsec', netns: ns });
    await charon.start();
  });

  afterAll(async () => {
    await charon?.stop();
    await runner.run('ip', ['netns', 'del', ns]);
    if (stateRoot) rmSync(stateRoot, { recursive: true, force: true });
  });

  for (const [name, entry] of Object.entries(CASES)) {
    it(name, async () => {
      const { doc, params } = 'doc' in entry ? entry : { doc: entry, params: {} };
      const peer = doc.vpn!.peers[0]!;
      // swanctl reads credentials from directories next to the file; give it empty ones
      const dir = path.join(stateRoot, peer.name);
      for (const sub of ['x509', 'x509ca', 'x509ocsp', 'x509aa', 'x509ac', 'x509crl', 'pubkey', 'private', 'rsa', 'ecdsa', 'bliss', 'pkcs8', 'pkcs12']) mkdirSync(path.join(dir, sub), { recursive: true });
      const file = path.join(dir, 'swanctl.conf');
      writeFileSync(file, generateRemoteConfig(doc, peer.name, 'strongswan', { params }), { mode: 0o600 });
      const load = await swanctl('--load-all', '--noprompt', '--file', file);
      const output = load.stdout + load.stderr;
      expect(load.code, output).toBe(0);
      expect(output).toMatch(/successfully loaded 1 connections, [01] unloaded/);
      expect(output).toMatch(/loaded ike secret 'ike-junction-/);
      expect(output).not.toMatch(/fail/i);
      const conns = await swanctl('--list-conns');
      expect(conns.stdout).toContain(`junction-${peer.name}: IKEv${peer.ike_version ?? 2}`);
      for (const tunnel of peer.tunnels) expect(conns.stdout).toContain(`  ${tunnel.name}: TUNNEL`);
      const psk = (peer.auth as { psk: string }).psk;
      expect(output).not.toContain(psk);
    });
  }
});
