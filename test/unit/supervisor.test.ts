// Supervisor with short-lived real programs (sleep, false, a missing
// binary). Every process a test starts is recorded by pid and, if still
// alive afterwards, killed by that pid; nothing else is ever signalled.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordPid } from '../../appliance/platform/stale-process.js';
import { Supervisor, type SpawnProcess, type SupervisorOptions } from '../../appliance/platform/supervisor.js';
import { alive } from './support/processes.js';
import { sleep } from '../../appliance/platform/sleep.js';

const started = new Set<number>();
const supervisors: Supervisor[] = [];
let dir: string;

async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Real spawn that records every pid; `programs` overrides what each attempt runs (by attempt index). */
function recordingSpawn(programs: Record<number, string> = {}): { spawn: SpawnProcess; children: ChildProcess[] } {
  const children: ChildProcess[] = [];
  return {
    children,
    spawn: (program, args, options) => {
      const child = spawn(programs[children.length] ?? program, args, options);
      children.push(child);
      if (child.pid !== undefined) started.add(child.pid);
      return child;
    },
  };
}

function supervise(options: Partial<SupervisorOptions> & { spawnProcess: SpawnProcess }): Supervisor {
  const supervisor = new Supervisor({
    name: 'sleeper',
    program: 'sleep',
    args: ['30'],
    backoff: { initialMs: 10, maxMs: 40 },
    readyTimeoutMs: 2_000,
    ...options,
  });
  supervisors.push(supervisor);
  return supervisor;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'junction-supervisor-'));
});

afterEach(async () => {
  for (const supervisor of supervisors.splice(0)) await supervisor.stop(1_000);
  for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
  started.clear();
  rmSync(dir, { recursive: true, force: true });
});

describe('Supervisor', () => {
  it('restarts a crashed program with doubling backoff and awaits every restart listener, noting their errors', async () => {
    const { spawn, children } = recordingSpawn();
    const lines: string[] = [];
    const calls: string[] = [];
    const supervisor = supervise({ spawnProcess: spawn, onLog: (line) => lines.push(line), onRestart: (pid) => void calls.push(`option ${pid}`) });
    supervisor.onRestart(async (pid) => {
      await sleep(5);
      calls.push(`slow ${pid}`);
    });
    supervisor.onRestart(() => {
      throw new Error('re-apply broke');
    });
    const gone = supervisor.onRestart(() => void calls.push('removed'));
    gone();
    const last = supervisor.onRestart((pid) => void calls.push(`last ${pid}`));

    const first = await supervisor.start();
    expect(first).toBe(children[0]!.pid);
    process.kill(first, 'SIGKILL');
    await until('first restart', () => supervisor.restarts === 1 && calls.length === 3);
    const second = supervisor.pid!;
    expect(second).toBe(children[1]!.pid);
    expect(calls).toEqual([`option ${second}`, `slow ${second}`, `last ${second}`]);
    last();

    process.kill(second, 'SIGKILL');
    const failedListener = 're-applying state after the restart of sleeper failed: re-apply broke';
    await until('second restart, listeners done', () => lines.filter((l) => l === failedListener).length === 2);
    expect(supervisor.restarts).toBe(2);
    expect(lines).toContain(`sleeper pid ${first} exited with SIGKILL`);
    expect(lines).toContain('restarting sleeper in 10 ms');
    expect(lines).toContain('restarting sleeper in 20 ms');
    expect(supervisor.recentLog()).toEqual(lines);

    await supervisor.stop();
    expect(children[2]!.signalCode).toBe('SIGTERM');
    await sleep(60);
    expect(children).toHaveLength(3); // no restart after stop
  });

  it('resets the backoff after a run that lasted stableAfterMs', async () => {
    const { spawn } = recordingSpawn();
    const lines: string[] = [];
    const supervisor = supervise({ spawnProcess: spawn, stableAfterMs: 150, onLog: (line) => lines.push(line) });
    await supervisor.start();
    process.kill(supervisor.pid!, 'SIGKILL');
    await until('restart', () => supervisor.restarts === 1);
    await sleep(200);
    process.kill(supervisor.pid!, 'SIGKILL');
    await until('second restart', () => supervisor.restarts === 2);
    expect(lines.filter((l) => l.startsWith('restarting'))).toEqual(['restarting sleeper in 10 ms', 'restarting sleeper in 10 ms']);
  });

  it('reports a first start that fails and does not retry it', async () => {
    const { spawn, children } = recordingSpawn();
    const supervisor = supervise({ program: 'false', args: [], spawnProcess: spawn, ready: () => Promise.reject(new Error('not yet')) });
    await expect(supervisor.start()).rejects.toThrow(/sleeper exited with code 1 during start/);
    await sleep(80);
    expect(children).toHaveLength(1);
    expect(supervisor.running).toBe(false);
  });

  it('reports a program that cannot be spawned at all (ENOENT)', async () => {
    const { spawn } = recordingSpawn();
    const supervisor = supervise({ program: join(dir, 'missing'), spawnProcess: spawn });
    await expect(supervisor.start()).rejects.toThrow(/could not be started: spawn .*missing ENOENT during start/);
  });

  it('kills a first start that never becomes ready, and does not retry it', async () => {
    const { spawn, children } = recordingSpawn();
    const supervisor = supervise({ spawnProcess: spawn, readyTimeoutMs: 100, ready: () => Promise.reject(new Error('socket refused')) });
    await expect(supervisor.start()).rejects.toThrow(/not ready after 100 ms: socket refused/);
    expect(alive(children[0]!.pid!)).toBe(false);
    await sleep(60);
    expect(children).toHaveLength(1);
  });

  it('keeps retrying with backoff when spawning fails during a restart', async () => {
    // attempts 1 and 2 (the first two restarts) run a program that does not exist
    const missing = join(dir, 'missing');
    const { spawn, children } = recordingSpawn({ 1: missing, 2: missing });
    const lines: string[] = [];
    const supervisor = supervise({ spawnProcess: spawn, onLog: (line) => lines.push(line) });
    const first = await supervisor.start();
    process.kill(first, 'SIGKILL');
    await until('restart after two failed spawns', () => supervisor.restarts === 1);
    expect(children).toHaveLength(4);
    expect(supervisor.pid).toBe(children[3]!.pid);
    expect(lines.filter((l) => l.startsWith('restarting'))).toEqual(['restarting sleeper in 10 ms', 'restarting sleeper in 20 ms', 'restarting sleeper in 40 ms']);
    expect(lines.filter((l) => l.startsWith('restart of sleeper failed: sleeper could not be started'))).toHaveLength(2);
  });

  it('kills a restarted program that does not become ready and tries again', async () => {
    const { spawn, children } = recordingSpawn();
    const lines: string[] = [];
    // only the first restart (attempt 1) never answers
    const ready = async () => {
      if (children.length === 2) throw new Error('socket refused');
    };
    const supervisor = supervise({ spawnProcess: spawn, ready, readyTimeoutMs: 100, onLog: (line) => lines.push(line) });
    const first = await supervisor.start();
    process.kill(first, 'SIGKILL');
    await until('restart after an unready attempt', () => supervisor.restarts === 1);
    expect(children).toHaveLength(3);
    expect(children[1]!.signalCode).toBe('SIGKILL');
    expect(alive(children[1]!.pid!)).toBe(false);
    expect(supervisor.pid).toBe(children[2]!.pid);
    expect(lines.some((l) => l.startsWith('restart of sleeper failed: sleeper not ready after 100 ms: socket refused'))).toBe(true);
    expect(lines).toContain(`sleeper pid ${children[1]!.pid} exited with SIGKILL`);
  });

  it('ends a leftover named by the pid file before every spawn, restarts included', async () => {
    const marker = join(dir, 'ours.conf');
    const pidFile = join(dir, 'sleeper.pid');
    const { spawn: spawnChild } = recordingSpawn();
    const lines: string[] = [];
    const supervisor = supervise({ spawnProcess: spawnChild, env: { ...process.env, MARKER: marker }, pidFile: { path: pidFile, marker }, onLog: (line) => lines.push(line) });
    const first = await supervisor.start();
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(first));
    // a copy of ours that the pid file names (as if a killed Junction had left it)
    const leftover = spawn('sleep', ['30'], { env: { ...process.env, MARKER: marker }, stdio: 'ignore' });
    started.add(leftover.pid!);
    const leftoverExit = new Promise((resolve) => leftover.once('exit', resolve));
    recordPid(pidFile, leftover.pid!);
    process.kill(first, 'SIGKILL');
    await until('restart', () => supervisor.restarts === 1);
    await leftoverExit;
    expect(lines).toContain(`ended sleeper pid ${leftover.pid}: left by an earlier run, not adopted`);
    expect(supervisor.origin).toMatchObject({ how: 'replaced', pid: supervisor.pid });
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(supervisor.pid));
  });

  it('sends output to a log file when asked, and tails that file for recentLog', async () => {
    const { spawn } = recordingSpawn();
    const logFile = join(dir, 'program.log');
    const supervisor = supervise({ program: 'sh', args: ['-c', 'echo answer $((6 * 7)); exec sleep 30'], logFile, spawnProcess: spawn });
    const pid = await supervisor.start();
    await until('output', () => readFileSync(logFile, 'utf8').includes('answer 42'));
    const recent = supervisor.recentLog();
    expect(recent.some((l) => l.endsWith(`junction: started sleeper pid ${pid}: sh -c echo answer $((6 * 7)); exec sleep 30`))).toBe(true);
    expect(recent).toContain('answer 42');
  });

  it('pipes output lines into recentLog and onLog without a log file', async () => {
    const { spawn } = recordingSpawn();
    const lines: string[] = [];
    const supervisor = supervise({ program: 'sh', args: ['-c', 'echo one; echo two >&2; exec sleep 30'], spawnProcess: spawn, onLog: (line) => lines.push(line) });
    await supervisor.start();
    await until('output', () => lines.includes('one') && lines.includes('two'));
    expect(supervisor.recentLog()).toEqual(expect.arrayContaining(['one', 'two']));
  });

  it('does not restart during backoff once stopped', async () => {
    const { spawn, children } = recordingSpawn();
    const supervisor = supervise({ spawnProcess: spawn, backoff: { initialMs: 50, maxMs: 50 } });
    process.kill(await supervisor.start(), 'SIGKILL');
    await until('exit seen', () => !supervisor.running);
    await supervisor.stop();
    await sleep(100);
    expect(children).toHaveLength(1);
  });

  it('restarts after a crash with restartArgs when given (bird -R), and starts with args', async () => {
    const { spawn: spawnChild, children } = recordingSpawn();
    const supervisor = supervise({ spawnProcess: spawnChild, args: ['30'], restartArgs: ['31'] });
    process.kill(await supervisor.start(), 'SIGKILL');
    await until('restart', () => supervisor.restarts === 1);
    expect(children.map((c) => c.spawnargs.slice(1))).toEqual([['30'], ['31']]);
  });

  describe('adoption of a copy an earlier Junction left', () => {
    /** A process of ours the pid file names, as a Junction that exited would leave it. */
    function leftover(marker: string, pidFile: string): { pid: number; exited: Promise<unknown> } {
      const child = spawn('sleep', ['30'], { env: { ...process.env, MARKER: marker }, stdio: 'ignore' });
      started.add(child.pid!);
      recordPid(pidFile, child.pid!);
      return { pid: child.pid!, exited: new Promise((resolve) => child.once('exit', resolve)) };
    }

    it('adopts a healthy leftover, watches it through /proc and restarts it when it dies', async () => {
      const marker = join(dir, 'ours.conf');
      const pidFile = join(dir, 'sleeper.pid');
      const old = leftover(marker, pidFile);
      const { spawn: spawnChild, children } = recordingSpawn();
      const lines: string[] = [];
      const supervisor = supervise({ spawnProcess: spawnChild, env: { ...process.env, MARKER: marker }, pidFile: { path: pidFile, marker }, onLog: (l) => lines.push(l) });
      const checked: number[] = [];
      expect(await supervisor.adopt(async (pid) => void checked.push(pid))).toBe(old.pid);
      expect(checked).toEqual([old.pid]);
      expect(children).toHaveLength(0);
      expect(supervisor.pid).toBe(old.pid);
      expect(supervisor.origin).toMatchObject({ how: 'adopted', pid: old.pid });
      process.kill(old.pid, 'SIGKILL');
      await until('restart after the adopted process died', () => supervisor.restarts === 1);
      expect(children).toHaveLength(1);
      expect(supervisor.pid).toBe(children[0]!.pid);
      expect(lines).toContain(`sleeper pid ${old.pid} exited (adopted, so its exit status is unknown)`);
    });

    it('refuses a leftover the check rejects: start() ends it and origin says why', async () => {
      const marker = join(dir, 'ours.conf');
      const pidFile = join(dir, 'sleeper.pid');
      const old = leftover(marker, pidFile);
      const { spawn: spawnChild } = recordingSpawn();
      const supervisor = supervise({ spawnProcess: spawnChild, env: { ...process.env, MARKER: marker }, pidFile: { path: pidFile, marker } });
      expect(await supervisor.adopt(async () => 'its config file differs')).toBeUndefined();
      expect(alive(old.pid)).toBe(true); // nothing ended before a successor is about to start
      const pid = await supervisor.start();
      await old.exited;
      expect(supervisor.origin).toEqual(expect.objectContaining({ how: 'replaced', pid, reason: `pid ${old.pid}: its config file differs` }));
    });

    it('does not adopt a process that is not ours (no marker)', async () => {
      const pidFile = join(dir, 'sleeper.pid');
      const other = leftover(join(dir, 'someone-else.conf'), pidFile);
      const supervisor = supervise({ spawnProcess: recordingSpawn().spawn, pidFile: { path: pidFile, marker: join(dir, 'ours.conf') } });
      expect(await supervisor.adopt(async () => undefined)).toBeUndefined();
      expect(alive(other.pid)).toBe(true);
    });

    it('detach() leaves the program running with its pid file, and the next supervisor adopts it', async () => {
      const marker = join(dir, 'ours.conf');
      const pidFile = join(dir, 'sleeper.pid');
      const { spawn: spawnChild } = recordingSpawn();
      const options = { spawnProcess: spawnChild, env: { ...process.env, MARKER: marker }, pidFile: { path: pidFile, marker } };
      const first = supervise(options);
      const pid = await first.start();
      first.detach();
      expect(first.running).toBe(false);
      await sleep(50);
      expect(alive(pid)).toBe(true);
      expect(first.restarts).toBe(0);
      const second = supervise(options);
      expect(await second.adopt(async () => undefined)).toBe(pid);
      await second.stop(1_000);
      expect(alive(pid)).toBe(false);
    });
  });
});
