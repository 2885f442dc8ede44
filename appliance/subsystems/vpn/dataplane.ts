// Which IPsec data plane charon should use. The kernel's XFRM ESP is the fast
// path; where the kernel lacks it (as on our CI machines: "Requested type not
// found") charon's kernel-libipsec plugin does ESP in userspace over a TUN
// device instead. We probe by adding and deleting a throwaway ESP state, and
// then a throwaway XFRM interface: the kernel path routes tunnel traffic
// through xfrm0 (its zone member), so ESP alone is not enough.
import { randomBytes } from 'node:crypto';
import type { CommandRunner } from '../../platform/command-runner.js';

// "xfrm": ESP in the kernel (XFRM states and policies, an XFRM interface); "libipsec": ESP in charon over a TUN device.
export type Dataplane = 'xfrm' | 'libipsec';

export interface DataplaneChoice {
  dataplane: Dataplane;
  reason: string;
}

export interface DataplaneProbeOptions {
  /** Configuration may force a data plane; then nothing is probed. */
  force?: Dataplane;
  /** Probe inside this network namespace (ip -n). */
  netns?: string;
}

// TEST-NET-1 addresses: the probe SA can never match real traffic.
const PROBE_SRC = '192.0.2.1';
const PROBE_DST = '192.0.2.2';

export async function detectDataplane(runner: CommandRunner, options: DataplaneProbeOptions = {}): Promise<DataplaneChoice> {
  if (options.force) return { dataplane: options.force, reason: `forced by configuration` };
  const ip = (args: string[]): string[] => (options.netns ? ['-n', options.netns, ...args] : args);
  // 0x100 and up: SPIs below 256 are reserved
  const spi = `0x${(0x100 + randomBytes(4).readUInt32BE(0) % 0xfffffe00).toString(16)}`;
  const state = ['src', PROBE_SRC, 'dst', PROBE_DST, 'proto', 'esp', 'spi', spi];
  const added = await runner.run('ip', ip([
    'xfrm', 'state', 'add', ...state, 'mode', 'tunnel',
    'enc', 'cbc(aes)', `0x${randomBytes(16).toString('hex')}`,
    'auth', 'hmac(sha256)', `0x${randomBytes(32).toString('hex')}`,
  ]));
  if (added.code !== 0) {
    const why = (added.stderr || added.stdout).trim().split('\n')[0] || `exit ${added.code}`;
    return { dataplane: 'libipsec', reason: `kernel XFRM ESP unavailable (ip xfrm state add: ${why})` };
  }
  const deleted = await runner.run('ip', ip(['xfrm', 'state', 'delete', ...state]));
  const leftover = deleted.code === 0 ? '' : ` (probe SA ${spi} could not be deleted: ${deleted.stderr.trim()})`;
  const xfrmi = await probeXfrmInterface(runner, ip);
  if (!xfrmi.ok) return { dataplane: 'libipsec', reason: `kernel has XFRM ESP but no XFRM interfaces (${xfrmi.why})${leftover}` };
  return { dataplane: 'xfrm', reason: `kernel accepted an ESP state with cbc(aes)/hmac(sha256) and an XFRM interface${leftover}` };
}

async function probeXfrmInterface(runner: CommandRunner, ip: (args: string[]) => string[]): Promise<{ ok: boolean; why: string }> {
  const name = `jxprobe${randomBytes(4).toString('hex')}`;
  // an if_id far from the one Junction uses (render.ts XFRM_IF_ID)
  const added = await runner.run('ip', ip(['link', 'add', name, 'type', 'xfrm', 'if_id', String(0x7fff0000 + randomBytes(2).readUInt16BE(0))]));
  if (added.code !== 0) return { ok: false, why: `ip link add type xfrm: ${(added.stderr || added.stdout).trim().split('\n')[0] || `exit ${added.code}`}` };
  await runner.run('ip', ip(['link', 'del', name]));
  return { ok: true, why: '' };
}
