// What Junction needs from the machine, declared by each subsystem in its
// own folder (subsystems/<name>/requirements.ts) and checked by one runner
// (doctor.ts) at `junction doctor`, at `serve` start and at the end of
// setup.sh. A check proves the thing works (charon loads its plugins, bird
// parses a config), not only that a file exists, and says which Debian
// package to install when it does not.
import type { CommandRunner } from './command-runner.js';
import type { Capabilities, CapabilityProbe } from './capabilities.js';

export type { CapabilityProbe };

/**
 * core: nothing can be programmed without it (serve refuses to start).
 * feature: one subsystem cannot work without it (serve starts and says so).
 */
export type Need = 'core' | 'feature';

export interface CheckResult {
  ok: boolean;
  /** what was seen: a version on success, the program's own complaint on failure */
  detail: string;
  /** Debian packages that fix a failure, when the check can tell (else the requirement's own) */
  packages?: string[];
}

export interface CheckContext {
  runner: CommandRunner;
  /** the kernel's capabilities, probed before the requirements (charon's plugin list depends on them) */
  capabilities: Capabilities;
}

export interface Requirement {
  /** stable id, e.g. "vpn.charon-plugins"; subsystems sharing a requirement use the same id */
  id: string;
  need: Need;
  /** what must hold, as a person would say it */
  what: string;
  /** the Debian packages that provide it */
  packages: string[];
  check(context: CheckContext): Promise<CheckResult>;
}


/** One subsystem's declaration: what it needs installed, and what it probes in the kernel. */
export interface SubsystemRequirements {
  subsystem: string;
  requirements: Requirement[];
  capabilities?: CapabilityProbe;
}

/** The first line of what a program said, for one-line messages. */
export function firstLine(text: string, fallback: string): string {
  return text.trim().split('\n')[0]?.trim() || fallback;
}

/**
 * How long one start-up/doctor probe may run before it counts as failed. It
 * only keeps a hung program from hanging start-up: a working nft answers in
 * milliseconds, but under an emulated CPU (qemu TCG, 15-30x slower: `npm run
 * test:xfrm`) a first `nft -c` took more than 10 s, and a slow probe must not
 * be reported as a missing feature.
 */
export const PROBE_TIMEOUT_MS = 60_000;

/**
 * A requirement met when `program args` exits 0. Exit 127 is "not
 * installed" (the runner's answer when spawn fails with ENOENT).
 */
export function programRequirement(options: { id: string; need: Need; what: string; packages: string[]; program: string; args: string[] }): Requirement {
  const { program, args, ...rest } = options;
  return {
    ...rest,
    async check({ runner }) {
      const result = await runner.run(program, args, { timeoutMs: PROBE_TIMEOUT_MS });
      if (result.code === 0) return { ok: true, detail: `${program} ${args.join(' ')}: ok` };
      const why = result.code === 127 ? `${program} is not installed` : `${program} ${args.join(' ')} exited ${result.code}: ${firstLine(result.stderr || result.stdout, 'no output')}`;
      return { ok: false, detail: why };
    },
  };
}

/** iproute2: links, routes and every probe that touches a namespace run `ip`. */
export const IPROUTE2 = programRequirement({
  id: 'platform.iproute2',
  need: 'core',
  what: 'ip (iproute2) reads and programs links, addresses and routes as JSON',
  packages: ['iproute2'],
  program: 'ip',
  args: ['-j', 'link', 'show', 'lo'],
});

/** Node 20 or later (package.json engines): older Node lacks APIs the API server uses. */
export const NODE_VERSION: Requirement = {
  id: 'platform.node',
  need: 'core',
  what: 'Node.js 20 or later runs Junction',
  packages: ['nodejs (20 or later; Debian 12 ships 18: use a Node 20 build)'],
  async check() {
    const major = Number(process.versions.node.split('.')[0]);
    return { ok: major >= 20, detail: `node ${process.versions.node}` };
  },
};
