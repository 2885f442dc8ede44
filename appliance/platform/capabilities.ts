// What the kernel under Junction can do, probed once at start so that
// renderers stay pure and status can say plainly what is unavailable.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandRunner } from './command-runner.js';
import { detectDataplane } from '../subsystems/vpn/dataplane.js';
import { probeTcpMd5 } from '../subsystems/bgp/md5-probe.js';

export interface Capabilities {
  /** nftables flowtables (software fast path for established flows) */
  flowtable: boolean;
  /** kernel XFRM ESP (else the VPN uses strongSwan's userspace libipsec) */
  xfrmEsp: boolean;
  /** TCP MD5 signatures (RFC 2385) for BGP passwords; absent when not probed */
  tcpMd5?: { supported: boolean; how: string; detail: string };
  notes: string[];
}

export const NO_CAPABILITIES: Capabilities = { flowtable: false, xfrmEsp: false, notes: [] };

/**
 * Probes with check-only nft batches, which the kernel validates and then
 * discards. Pass a real interface: some kernels refuse flowtables on lo.
 */
export async function probeCapabilities(runner: CommandRunner, probeDevice = 'lo'): Promise<Capabilities> {
  const notes: string[] = [];
  const flowtableProbe = JSON.stringify({
    nftables: [
      { add: { table: { family: 'inet', name: 'junction_probe' } } },
      { add: { flowtable: { family: 'inet', table: 'junction_probe', name: 'ft', hook: 'ingress', prio: 0, dev: [probeDevice] } } },
    ],
  });
  // nft cannot read a batch from a socket-backed stdin, so use a file.
  const dir = mkdtempSync(join(tmpdir(), 'junction-probe-'));
  const file = join(dir, 'flowtable.json');
  writeFileSync(file, flowtableProbe);
  const flow = await runner.run('nft', ['-c', '-j', '-f', file]);
  rmSync(dir, { recursive: true, force: true });
  const flowtable = flow.code === 0;
  if (!flowtable) notes.push(`nftables flowtables unavailable (${flow.stderr.trim().split('\n')[0] || 'nft -c failed'}); established flows use the normal forward path`);
  // XFRM ESP: add and delete a throwaway ESP state (TEST-NET addresses)
  const esp = await detectDataplane(runner);
  const xfrmEsp = esp.dataplane === 'kernel';
  if (!xfrmEsp) notes.push(`${esp.reason}; IPsec uses strongSwan kernel-libipsec (userspace ESP over a TUN device)`);
  // TCP MD5 for BGP passwords: the kernel config, else a throwaway bird session
  const tcpMd5 = await probeTcpMd5(runner).catch((error: Error) => ({ supported: true, how: 'unknown', detail: `probe failed (${error.message}); assuming support` }));
  if (!tcpMd5.supported) notes.push(`TCP MD5 signatures unavailable (${tcpMd5.detail}); BGP neighbors cannot use a password`);
  return { flowtable, xfrmEsp, tcpMd5, notes };
}
