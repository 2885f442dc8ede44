// `junction down` and `junction restart`: the running `junction serve` is
// found by its pid file in the state directory (and proven ours by its
// command line). A plain stop of Junction leaves the data plane alone;
// `down` is the full stop (Junction and every daemon it runs), `restart`
// the hitless one (the new Junction adopts the daemons).
import { spawn } from 'node:child_process';
import { openSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { processArgs, processGone, reapStaleProcess, waitUntilGone } from '../platform/stale-process.js';
import { charonPaths } from '../subsystems/vpn/strongswan-conf.js';
import { dnsmasqPaths } from '../subsystems/dhcp/dnsmasq-process.js';
import { apiRequest, targetFromStateDir } from './api-client.js';

/** The signal `junction down` sends to serve: stop Junction and every daemon it runs. */
export const FULL_STOP_SIGNAL = 'SIGUSR2';

const STOP_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 30_000;

/** The pid of the `junction serve` using this state dir, or undefined. */
export function runningJunction(stateDir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(join(stateDir, 'junction.pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1 || processGone(pid)) return undefined;
  const args = processArgs(pid);
  return args.includes('serve') && args.some((a) => a.endsWith('cli.js') || a.endsWith('junction')) ? pid : undefined;
}

/** The daemons Junction runs for a state dir: pid file and the marker that proves a process is ours. */
function daemonPidFiles(stateDir: string): Array<{ path: string; marker: string }> {
  const dhcp = join(stateDir, 'dhcp-client');
  let leases: string[] = [];
  try {
    leases = readdirSync(dhcp).filter((f) => f.endsWith('.pid'));
  } catch {
    /* no DHCP clients */
  }
  const dnsmasq = dnsmasqPaths(join(stateDir, 'dnsmasq'));
  return [
    { path: join(stateDir, 'charon', 'charon.pid'), marker: charonPaths(join(stateDir, 'charon')).conf },
    { path: join(stateDir, 'bird', 'bird.supervised.pid'), marker: join(stateDir, 'bird', 'bird.conf') },
    { path: dnsmasq.supervisedPidFile, marker: dnsmasq.configFile },
    { path: join(stateDir, 'firewall-log', 'ulogd.pid'), marker: join(stateDir, 'firewall-log', 'ulogd.conf') },
    ...leases.map((f) => ({ path: join(dhcp, f), marker: join(dhcp, 'lease.sh') })),
  ];
}

async function signalAndWait(pid: number, signal: NodeJS.Signals): Promise<boolean> {
  process.kill(pid, signal);
  await waitUntilGone(pid, STOP_TIMEOUT_MS);
  return processGone(pid);
}

/** Full stop: Junction stops its daemons; daemons a killed Junction left are ended by their pid files. */
export async function down(stateDir: string): Promise<string[]> {
  const pid = runningJunction(stateDir);
  if (pid !== undefined) {
    if (!(await signalAndWait(pid, FULL_STOP_SIGNAL))) throw new Error(`Junction (pid ${pid}) did not stop within ${STOP_TIMEOUT_MS / 1000} s`);
    return [`stopped Junction (pid ${pid}) and its daemons`];
  }
  const done: string[] = [];
  for (const file of daemonPidFiles(stateDir)) {
    const ended = reapStaleProcess(file.path, file.marker);
    if (ended === undefined) continue;
    await waitUntilGone(ended);
    done.push(`ended pid ${ended} (${file.path})`);
  }
  return done.length ? [`Junction was not running; ${done.join(', ')}`] : ['Junction was not running, and no daemon of it was left'];
}

/** The same network and UTS namespaces as this process: a Junction started from here lands where the old one ran. */
const sameNamespaces = (pid: number) => ['net', 'uts'].every((ns) => readlinkSync(`/proc/${pid}/ns/${ns}`) === readlinkSync(`/proc/self/ns/${ns}`));
const underSystemd = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').some((v) => v.startsWith('INVOCATION_ID='));

async function waitForHealth(stateDir: string, notPid: number): Promise<number> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const pid = runningJunction(stateDir);
    if (pid !== undefined && pid !== notPid) {
      const ok = await apiRequest(targetFromStateDir(stateDir), 'GET', '/v1/health').then((r) => r.status === 200, () => false);
      if (ok) return pid;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the new Junction did not answer within ${START_TIMEOUT_MS / 1000} s; see ${join(stateDir, 'junction.log')}`);
}

/**
 * Hitless restart: SIGTERM (the daemons keep running), then the same
 * command again, which adopts them. Under systemd, systemd starts it again
 * (Restart=always); otherwise it is started here, detached, logging to
 * DIR/junction.log, when it ran in this network and UTS namespace (it
 * sets the hostname: started elsewhere it would rename another machine).
 */
export async function restart(stateDir: string): Promise<string> {
  const pid = runningJunction(stateDir);
  if (pid === undefined) throw new Error(`no Junction runs with state dir ${stateDir} (start it with: junction serve --state-dir ${stateDir})`);
  const systemd = underSystemd(pid);
  if (!systemd && !sameNamespaces(pid)) {
    throw new Error(`Junction (pid ${pid}) runs in another network or UTS namespace; restart it the way it was started (in the lab: npm run lab:restart)`);
  }
  const argv = processArgs(pid);
  const cwd = readlinkSync(`/proc/${pid}/cwd`);
  if (!(await signalAndWait(pid, 'SIGTERM'))) throw new Error(`Junction (pid ${pid}) did not stop within ${STOP_TIMEOUT_MS / 1000} s`);
  if (!systemd) {
    const log = openSync(join(stateDir, 'junction.log'), 'a', 0o600);
    spawn(argv[0]!, argv.slice(1), { cwd, detached: true, stdio: ['ignore', log, log] }).unref();
  }
  const next = await waitForHealth(stateDir, pid);
  return `restarted Junction: pid ${pid} stopped, pid ${next} answers${systemd ? ' (started by systemd)' : ''}; the daemons were adopted, not restarted`;
}
