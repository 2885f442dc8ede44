// Daemons Junction starts outlive Junction on purpose: a restart, an
// upgrade or a crash of the control plane must not touch the data plane.
// Each records its pid in the state directory, and the next Junction finds
// it there to adopt it (or, when it is unhealthy or runs a configuration
// that cannot be confirmed, to end it before starting a new one, so two
// copies never fight over a port or a socket). A pid is only ours if the
// process still carries our marker (a path from our state directory) in
// its command line or environment: pids get reused.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

function carries(pid: number, marker: string): boolean {
  for (const file of ['cmdline', 'environ']) {
    try {
      if (readFileSync(`/proc/${pid}/${file}`, 'utf8').includes(marker)) return true;
    } catch {
      return false; // gone
    }
  }
  return false;
}

/** The pid the pid file names, if that process is alive and ours; the file is left alone. */
export function ownedProcess(pidFile: string, marker: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid || processGone(pid) || !carries(pid, marker)) return undefined;
  return pid;
}

/** Kills the process named by the pid file if it is ours; returns its pid when it was. */
export function reapStaleProcess(pidFile: string, marker: string): number | undefined {
  const pid = ownedProcess(pidFile, marker);
  rmSync(pidFile, { force: true });
  if (pid === undefined) return undefined;
  try {
    process.kill(pid, 'SIGKILL');
    return pid;
  } catch {
    return undefined;
  }
}

/** A process's argv (empty once it is gone). */
export function processArgs(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

export function recordPid(pidFile: string, pid: number): void {
  writeFileSync(pidFile, `${pid}\n`, { mode: 0o600 });
}

/** A process is gone once /proc no longer has it, or it is a zombie (dead, waiting to be reaped). */
export function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] === 'Z';
  } catch {
    return true;
  }
}

/** Waits (bounded) until a process is gone, so its successor does not meet its ports or sockets. */
export async function waitUntilGone(pid: number, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!processGone(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}
