// What the VPN needs from the machine: a charon that actually starts with
// Junction's own plugin list (a missing plugin package makes charon exit 66,
// "unmet dependency: HASHER:HASH_SHA1", only at the first commit with a
// peer), and its kernel probe (XFRM ESP, else libipsec). The check starts a
// throwaway charon the way the driver does (CharonProcess: own
// strongswan.conf, VICI socket and private /run), in a throwaway network
// namespace so it never meets a running charon's ports or TUN device.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { CommandRunner } from '../../platform/command-runner.js';
import { firstLine, PROBE_TIMEOUT_MS, type CapabilityProbe, type CheckResult, type Requirement, type SubsystemRequirements } from '../../platform/requirements.js';
import { CharonProcess, DEFAULT_CHARON_BINARY } from './charon-process.js';
import { charonPlugins } from './strongswan-conf.js';
import { detectDataplane, type Dataplane } from './dataplane.js';
import { ViciClient } from './vici/client.js';

/** Which Debian 12 package ships each plugin Junction loads (the rest are in libstrongswan). */
const PLUGIN_PACKAGES: Record<string, string> = {
  openssl: 'libstrongswan-standard-plugins',
  'kernel-libipsec': 'libcharon-extra-plugins',
  vici: 'strongswan-swanctl',
  'socket-default': 'strongswan-libcharon',
  updown: 'strongswan-libcharon',
};

export function packageForPlugin(plugin: string): string {
  return PLUGIN_PACKAGES[plugin] ?? 'libstrongswan';
}

export interface CharonLogFindings {
  /** plugins charon could not load */
  failedPlugins: string[];
  /** the features charon found nobody to provide ("unmet dependency: HASHER:HASH_SHA1") */
  unmet: string[];
}

/** Reads what charon says about its plugins while it starts. */
export function charonLogFindings(lines: string[]): CharonLogFindings {
  const failedPlugins = new Set<string>();
  const unmet = new Set<string>();
  for (const line of lines) {
    const failed = /plugin '([^']+)': failed to load/.exec(line);
    if (failed) failedPlugins.add(failed[1]!);
    const dependency = /has unmet dependency: (\S+)/.exec(line);
    if (dependency) unmet.add(dependency[1]!);
  }
  return { failedPlugins: [...failedPlugins], unmet: [...unmet] };
}

/** The verdict from what charon logged and, if it started, the plugins it reports loaded over VICI. */
export function judgeCharonStart(wanted: string[], logLines: string[], started: { loaded: string[] } | { error: string }): CheckResult {
  const findings = charonLogFindings(logLines);
  const notLoaded = 'loaded' in started ? wanted.filter((p) => !started.loaded.includes(p)) : [];
  const failed = [...new Set([...findings.failedPlugins, ...notLoaded])];
  const packages = [...new Set(failed.map(packageForPlugin))];
  if ('error' in started) {
    const why = [failed.length ? `plugins not loaded: ${failed.join(', ')}` : '', findings.unmet.length ? `unmet dependencies: ${findings.unmet.join(', ')}` : ''].filter(Boolean).join('; ');
    return { ok: false, detail: `charon did not start (${why || started.error})`, packages: packages.length ? packages : ['strongswan-charon', 'libstrongswan-standard-plugins'] };
  }
  if (failed.length) return { ok: false, detail: `charon started without plugins ${failed.join(', ')}`, packages };
  return { ok: true, detail: `charon started and loaded ${wanted.join(' ')}` };
}

/**
 * Starts a throwaway charon with the plugin list Junction's own charon
 * would use on this kernel, asks it over VICI what it loaded, and stops it
 * (by its pid) and its namespace and directory, whatever happened.
 */
export async function checkCharonPlugins(runner: CommandRunner, dataplane: Dataplane, charonBinary = DEFAULT_CHARON_BINARY): Promise<CheckResult> {
  if (!existsSync(charonBinary)) return { ok: false, detail: `${charonBinary} is missing`, packages: ['strongswan-charon'] };
  const wanted = charonPlugins({ dataplane });
  const netns = `jndoctor${process.pid}${randomBytes(2).toString('hex')}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'junction-doctor-charon-'));
  const charon = new CharonProcess({ stateDir: dir, dataplane, netns, charonBinary, startTimeoutMs: PROBE_TIMEOUT_MS });
  const added = await runner.run('ip', ['netns', 'add', netns]);
  try {
    if (added.code !== 0) return { ok: false, detail: `cannot make a namespace for the charon check (ip netns add: ${firstLine(added.stderr, `exit ${added.code}`)})`, packages: ['iproute2'] };
    let started: { loaded: string[] } | { error: string };
    try {
      await charon.start();
      const vici = await ViciClient.connect(charon.socketPath, { timeoutMs: PROBE_TIMEOUT_MS });
      try {
        const stats = (await vici.stats()) as { plugins?: unknown };
        started = { loaded: Array.isArray(stats.plugins) ? stats.plugins.map(String) : [] };
      } finally {
        vici.close();
      }
    } catch (error) {
      started = { error: (error as Error).message };
    }
    const log = existsSync(charon.logPath) ? readFileSync(charon.logPath, 'utf8').split('\n') : [];
    return judgeCharonStart(wanted, log, started);
  } finally {
    await charon.stop();
    if (added.code === 0) await runner.run('ip', ['netns', 'del', netns]);
    rmSync(dir, { recursive: true, force: true });
  }
}

const charonStarts: Requirement = {
  id: 'vpn.charon-plugins',
  need: 'feature',
  what: "charon starts with Junction's plugin list and answers on VICI",
  packages: ['strongswan-charon', 'strongswan-swanctl', 'libstrongswan-standard-plugins', 'libcharon-extra-plugins'],
  check: ({ runner, capabilities }) => checkCharonPlugins(runner, capabilities.xfrmEsp ? 'xfrm' : 'libipsec'),
};

/** XFRM ESP: add and delete a throwaway ESP state and XFRM interface (dataplane.ts). */
const probeDataplane: CapabilityProbe = async (runner) => {
  const esp = await detectDataplane(runner);
  const xfrmEsp = esp.dataplane === 'xfrm';
  return { xfrmEsp, notes: xfrmEsp ? [] : [`${esp.reason}; IPsec uses strongSwan kernel-libipsec (userspace ESP over a TUN device)`] };
};

export const vpnRequirements: SubsystemRequirements = {
  subsystem: 'vpn',
  requirements: [charonStarts],
  capabilities: probeDataplane,
};
