// What the kernel under Junction can do, probed once at start so that
// renderers stay pure and status can say plainly what is unavailable. Each
// subsystem declares its own probe (subsystems/<name>/requirements.ts); the
// composition root (main/) hands them here, so platform imports no
// subsystem.
import type { CommandRunner } from './command-runner.js';

export interface Capabilities {
  /** nftables flowtables (software fast path for established flows) */
  flowtable: boolean;
  /** kernel XFRM ESP (else the VPN uses strongSwan's userspace libipsec) */
  xfrmEsp: boolean;
  /** TCP MD5 signatures (RFC 2385) for BGP passwords; absent when not probed */
  tcpMd5?: { supported: boolean; how: string; detail: string };
  notes: string[];
  /** requirements that failed their check (doctor.ts), each with what to install; absent when not checked */
  missing?: Array<{ id: string; need: 'core' | 'feature'; message: string }>;
}

export const NO_CAPABILITIES: Capabilities = { flowtable: false, xfrmEsp: false, notes: [] };

/**
 * Runs every probe in turn and merges what they find. A probe that throws
 * leaves its capability off and says why in the notes. Pass a real
 * interface as probeDevice: some kernels refuse flowtables on lo.
 */
/** A kernel feature probe: what it finds goes into Capabilities, plus notes a person can read. */
export type CapabilityProbe = (runner: CommandRunner, probeDevice: string) => Promise<Partial<Capabilities> & { notes?: string[] }>;

export async function probeCapabilities(runner: CommandRunner, probes: CapabilityProbe[], probeDevice = 'lo'): Promise<Capabilities> {
  const capabilities: Capabilities = { ...NO_CAPABILITIES, notes: [] };
  for (const probe of probes) {
    try {
      const { notes = [], ...found } = await probe(runner, probeDevice);
      Object.assign(capabilities, found);
      capabilities.notes.push(...notes);
    } catch (error) {
      capabilities.notes.push(`a capability probe failed (${(error as Error).message}); that feature is treated as unavailable`);
    }
  }
  return capabilities;
}
