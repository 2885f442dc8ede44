// Runs one long-lived child program (a DHCP client, charon, bird, ulogd),
// keeps it in the foreground so its pid is known, restarts it with
// exponential backoff when it dies, and signals that pid only.
//
// A first start() that fails is reported to the caller and not retried
// behind its back. Once the program has run, every later failure (a crash,
// a spawn error, a restart that never becomes ready) leads to another
// attempt with backoff, until stop().
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { resolveProgram } from './command-runner.js';
import { reapStaleProcess, recordPid, waitUntilGone } from './stale-process.js';
import { sleep } from './sleep.js';

/** How a child is spawned (a seam for tests); stdio is 'pipe' or the log file's fd. */
export type SpawnProcess = (
  program: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; stdio: ['ignore', number | 'pipe', number | 'pipe'] },
) => ChildProcess;

/** Called after each restart once the program is ready, with its new pid. */
export type RestartListener = (pid: number) => void | Promise<void>;

export interface SupervisorOptions {
  /** name used in log lines */
  name: string;
  program: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** resolves when the program is ready to be used (e.g. its socket answers), rejects while it is not */
  ready?: () => Promise<void>;
  readyTimeoutMs?: number;
  backoff?: { initialMs?: number; maxMs?: number };
  /** a run that lasted this long earns a fresh backoff (default 30 s) */
  stableAfterMs?: number;
  /** after a crash and restart, once ready: re-apply state here (more listeners: onRestart()) */
  onRestart?: RestartListener;
  /** our notes, and the program's output lines unless it goes to logFile */
  onLog?: (line: string) => void;
  /** The program's stdout/stderr go to this file (appended), and so do our notes. */
  logFile?: string;
  /**
   * Where to record the pid, with a marker (a path of ours in its command
   * line or environment) that proves a leftover process is ours: a copy
   * left by a killed Junction is ended before each new one starts.
   */
  pidFile?: { path: string; marker: string };
  /** runs before every spawn, after the leftover is ended (e.g. remove a stale socket) */
  prepare?: () => void;
  spawnProcess?: SpawnProcess;
}

/** One spawned child. */
interface Run {
  child: ChildProcess;
  startedAt: number;
  /** ready: from now on a death is a crash to restart after */
  up: boolean;
  /** why it ended, once it has */
  exit?: string;
  ended: Promise<void>;
}

const MAX_LOG_LINES = 200;
/** recentLog() reads at most this much of the end of a log file */
const TAIL_BYTES = 64 * 1024;

const message = (error: unknown) => String((error as Error)?.message ?? error);

export class Supervisor {
  private run: Run | undefined;
  private stopping = false;
  /** bumped by start() and stop(), so a restart already under way is void */
  private epoch = 0;
  private delayMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private listeners: RestartListener[] = [];
  private readonly logLines: string[] = [];
  private restartCount = 0;

  constructor(private readonly options: SupervisorOptions) {
    this.delayMs = this.initialDelay();
    if (options.onRestart) this.listeners.push(options.onRestart);
  }

  get pid(): number | undefined {
    const run = this.run;
    return run && run.exit === undefined ? run.child.pid : undefined;
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  /** how many times the program died and was started again (and became ready) */
  get restarts(): number {
    return this.restartCount;
  }

  /** Adds a listener for restarts (each awaited in turn, its errors noted); returns its removal. */
  onRestart(listener: RestartListener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** The last lines the program (and we) wrote, for status and error messages. */
  recentLog(): string[] {
    return this.options.logFile ? tailLines(this.options.logFile, MAX_LOG_LINES) : [...this.logLines];
  }

  /** Starts the program; resolves with its pid once ready. A failure is thrown, not retried. */
  async start(): Promise<number> {
    if (this.pid !== undefined) return this.pid;
    this.cancelRestart();
    this.stopping = false;
    this.epoch++;
    try {
      return await this.launch();
    } catch (error) {
      this.stopping = true;
      throw error;
    }
  }

  /** Ends supervision; SIGTERM to our child only, SIGKILL if it has not exited in time. */
  async stop(timeoutMs = 5_000): Promise<void> {
    this.stopping = true;
    this.epoch++;
    this.cancelRestart();
    const run = this.run;
    if (!run) return;
    const timer = setTimeout(() => this.signal(run, 'SIGKILL'), timeoutMs);
    await this.end(run, 'SIGTERM');
    clearTimeout(timer);
  }

  /** One attempt: end a leftover, spawn, wait until ready. When it fails, nothing of it is left running. */
  private async launch(): Promise<number> {
    await this.reapLeftover();
    this.options.prepare?.();
    const run = this.spawnRun();
    try {
      this.recordStart(run);
      await this.waitReady(run);
    } catch (error) {
      await this.end(run, 'SIGKILL');
      throw error;
    }
    run.up = true;
    return run.child.pid as number;
  }

  private async reapLeftover(): Promise<void> {
    const pidFile = this.options.pidFile;
    if (!pidFile) return;
    const stale = reapStaleProcess(pidFile.path, pidFile.marker);
    if (stale === undefined) return;
    this.record(`ended ${this.options.name} pid ${stale} left by an earlier run`);
    await waitUntilGone(stale);
  }

  private spawnRun(): Run {
    const { logFile, spawnProcess = (p, a, o) => spawn(p, a, o) } = this.options;
    const env = this.options.env ?? process.env;
    const logFd = logFile ? openSync(logFile, 'a', 0o600) : undefined;
    let child: ChildProcess;
    try {
      child = spawnProcess(resolveProgram(this.options.program), this.options.args, {
        env,
        stdio: logFd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', logFd, logFd],
      });
    } finally {
      if (logFd !== undefined) closeSync(logFd); // the child has its own copy
    }
    return this.track(child);
  }

  private recordStart(run: Run): void {
    const pid = run.child.pid;
    if (pid === undefined) return; // spawning failed; its 'error' follows
    if (this.options.pidFile) recordPid(this.options.pidFile.path, pid);
    this.record(`started ${this.options.name} pid ${pid}: ${this.options.program} ${this.options.args.join(' ')}`);
  }

  private track(child: ChildProcess): Run {
    let settle!: () => void;
    const run: Run = { child, startedAt: Date.now(), up: false, ended: new Promise((resolve) => (settle = resolve)) };
    const end = (reason: string) => {
      if (run.exit !== undefined) return;
      run.exit = reason;
      settle();
      this.onEnded(run);
    };
    // A spawn that fails (ENOENT) emits 'error' and never 'exit'.
    child.on('error', (error) => (child.pid === undefined ? end(`could not be started: ${error.message}`) : this.record(`${this.options.name}: ${error.message}`)));
    child.once('exit', (code, signal) => end(`exited with ${signal ?? `code ${code}`}`));
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => line && this.record(line));
    }
    this.run = run;
    return run;
  }

  /** A death after the program was up is a crash: restart with backoff. A launch reports its own failures. */
  private onEnded(run: Run): void {
    const pid = run.child.pid === undefined ? '' : ` pid ${run.child.pid}`;
    this.record(`${this.options.name}${pid} ${run.exit}`);
    if (run !== this.run || !run.up || this.stopping) return;
    if (Date.now() - run.startedAt >= (this.options.stableAfterMs ?? 30_000)) this.delayMs = this.initialDelay();
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.stopping || this.restartTimer) return;
    const delay = this.delayMs;
    this.delayMs = Math.min(delay * 2, this.options.backoff?.maxMs ?? 30_000);
    this.record(`restarting ${this.options.name} in ${delay} ms`);
    const epoch = this.epoch;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.restart(epoch);
    }, delay);
    this.restartTimer.unref();
  }

  private cancelRestart(): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  private async restart(epoch: number): Promise<void> {
    if (epoch !== this.epoch || this.stopping) return;
    let pid: number;
    try {
      pid = await this.launch();
    } catch (error) {
      this.record(`restart of ${this.options.name} failed: ${message(error)}`);
      if (epoch === this.epoch) this.scheduleRestart();
      return;
    }
    if (epoch !== this.epoch || this.stopping) return;
    this.restartCount++;
    for (const listener of [...this.listeners]) {
      try {
        await listener(pid);
      } catch (error) {
        this.record(`re-applying state after the restart of ${this.options.name} failed: ${message(error)}`);
      }
    }
  }

  private async waitReady(run: Run): Promise<void> {
    if (run.child.pid === undefined) await run.ended; // spawning failed: 'error' is on its way
    const timeoutMs = this.options.readyTimeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      if (run.exit !== undefined) throw new Error(`${this.options.name} ${run.exit} during start (${this.lastOutput()})`);
      if (!this.options.ready) return;
      if (Date.now() >= deadline) break;
      try {
        await this.options.ready();
        return;
      } catch (error) {
        lastError = error;
        await sleep(50);
      }
    }
    throw new Error(`${this.options.name} not ready after ${timeoutMs} ms: ${message(lastError)} (${this.lastOutput()})`);
  }

  private lastOutput(): string {
    const lines = this.recentLog().slice(-5).join(' | ') || 'no output';
    return this.options.logFile ? `${lines}; log ${this.options.logFile}` : lines;
  }

  /** Signals the run's child by its pid, if it has one and still runs. */
  private signal(run: Run, signal: NodeJS.Signals): void {
    if (run.exit === undefined && run.child.pid !== undefined) run.child.kill(signal);
  }

  private async end(run: Run, signal: NodeJS.Signals): Promise<void> {
    if (run.exit !== undefined) return;
    this.signal(run, signal);
    await run.ended;
  }

  private record(line: string): void {
    this.options.onLog?.(line);
    if (this.options.logFile) return appendNote(this.options.logFile, line);
    this.logLines.push(line);
    if (this.logLines.length > MAX_LOG_LINES) this.logLines.shift();
  }

  private initialDelay(): number {
    return this.options.backoff?.initialMs ?? 500;
  }
}

function appendNote(file: string, line: string): void {
  try {
    appendFileSync(file, `${new Date().toISOString()} junction: ${line}\n`, { mode: 0o600 });
  } catch {
    // the log is a convenience; supervision must go on without it
  }
}

/** The last lines of a file, reading only its end. */
function tailLines(file: string, count: number): string[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = fstatSync(fd).size;
    const buffer = Buffer.alloc(Math.min(size, TAIL_BYTES));
    readSync(fd, buffer, 0, buffer.length, size - buffer.length);
    const lines = buffer.toString('utf8').split('\n');
    if (buffer.length < size) lines.shift(); // cut in the middle
    return lines.filter(Boolean).slice(-count);
  } finally {
    closeSync(fd);
  }
}
