// Runs one long-lived program (a DHCP client, charon, bird, ulogd), keeps
// it in the foreground so its pid is known, restarts it with exponential
// backoff when it dies, and signals that pid only. The program outlives
// Junction (a control-plane restart must not touch the data plane): adopt()
// takes over the copy an earlier Junction left when the caller's check
// finds it healthy, and ends it, saying why, when not; an adopted process is
// not our child (no exit event), so it is watched through /proc. detach()
// ends supervision and leaves the program running for the next Junction.
// A first start() that fails is reported, not retried behind the caller's
// back; once the program has run, every later failure leads to another
// attempt with backoff, until stop() or detach().
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { resolveProgram } from './command-runner.js';
import { appendNote, tailLines } from './daemon-log.js';
import { ownedProcess, processGone, reapStaleProcess, recordPid, waitUntilGone } from './stale-process.js';
import { sleep } from './sleep.js';

/** How a child is spawned (a seam for tests); stdio is 'pipe' or the log file's fd. */
export type SpawnProcess = (
  program: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; stdio: ['ignore', number | 'pipe', number | 'pipe']; detached: boolean },
) => ChildProcess;

/** Resolves undefined when a leftover process may be adopted, or why it must be replaced. */
export type AdoptCheck = (pid: number) => Promise<string | undefined>;

/** Where the running process came from: said in the log and in status. */
export interface DaemonOrigin {
  how: 'started' | 'adopted' | 'replaced';
  pid: number;
  at: string;
  /** replaced: which leftover, and why it could not be adopted */
  reason?: string;
}

/** Called after each restart once the program is ready, with its new pid. */
export type RestartListener = (pid: number) => void | Promise<void>;

export interface SupervisorOptions {
  /** name used in log lines */
  name: string;
  program: string;
  args: string[];
  /** the arguments of a restart after a crash, when they differ (bird -R: graceful restart recovery) */
  restartArgs?: string[];
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
  /** stdout/stderr go to this file (appended), and our notes; a program that outlives Junction needs one (a pipe would SIGPIPE it) */
  logFile?: string;
  /** the pid file, and a marker (a path of ours in its cmdline or environment) proving a leftover is ours */
  pidFile?: { path: string; marker: string };
  /** runs before every spawn, after the leftover is ended (e.g. remove a stale socket) */
  prepare?: () => void;
  spawnProcess?: SpawnProcess;
}

/** One supervised process: a child we spawned, or one adopted from an earlier Junction. */
interface Run {
  pid: number | undefined;
  args: string[];
  startedAt: number;
  /** ready: from now on a death is a crash to restart after */
  up: boolean;
  /** why it ended, once it has */
  exit?: string;
  ended: Promise<void>;
  signal(signal: NodeJS.Signals): void;
  /** stop watching it without ending it (detach) */
  release(): void;
}

const MAX_LOG_LINES = 200;
/** how often an adopted process (not our child: no exit event) is looked for in /proc */
const ADOPTED_POLL_MS = 200;

const message = (error: unknown) => String((error as Error)?.message ?? error);

export class Supervisor {
  private run: Run | undefined;
  private stopping = false;
  /** bumped by start(), stop() and detach(), so a restart already under way is void */
  private epoch = 0;
  private delayMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private listeners: RestartListener[] = [];
  private readonly logLines: string[] = [];
  private restartCount = 0;
  private originRecord: DaemonOrigin | undefined;
  /** set by adopt() when it refused a leftover: start() ends it and says why in origin */
  private pendingReplacement: { pid: number; reason: string } | undefined;

  constructor(private readonly options: SupervisorOptions) {
    this.delayMs = this.initialDelay();
    if (options.onRestart) this.listeners.push(options.onRestart);
  }

  get pid(): number | undefined {
    const run = this.run;
    return run && run.exit === undefined ? run.pid : undefined;
  }

  get running(): boolean { return this.pid !== undefined; }

  /** how many times the program died and was started again (and became ready) */
  get restarts(): number { return this.restartCount; }

  /** How the process that runs now came to run (started, adopted, or started in place of a leftover). */
  get origin(): DaemonOrigin | undefined { return this.originRecord; }

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

  /**
   * Takes over the copy an earlier Junction left, if the pid file names one
   * of ours and `check` finds it healthy; resolves with its pid. Otherwise
   * resolves undefined, and the caller start()s a new one, which first ends
   * a refused leftover (the reason goes to the log and to origin).
   */
  async adopt(check: AdoptCheck): Promise<number | undefined> {
    if (this.pid !== undefined) return this.pid;
    const pidFile = this.options.pidFile;
    if (!pidFile) return undefined;
    const pid = ownedProcess(pidFile.path, pidFile.marker);
    if (pid === undefined) return undefined;
    let reason: string | undefined;
    try {
      reason = await check(pid);
    } catch (error) {
      reason = message(error);
    }
    if (reason === undefined && processGone(pid)) reason = 'it exited while being checked';
    if (reason !== undefined) {
      this.record(`replacing ${this.options.name} pid ${pid} left by an earlier run: ${reason}`);
      this.pendingReplacement = { pid, reason };
      return undefined;
    }
    this.cancelRestart();
    this.stopping = false;
    this.epoch++;
    const run = this.watch(pid);
    run.up = true;
    this.originRecord = { how: 'adopted', pid, at: new Date().toISOString() };
    this.record(`adopted ${this.options.name} pid ${pid} left running by an earlier run`);
    return pid;
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

  /** Ends supervision; SIGTERM to our process only, SIGKILL if it has not exited in time. */
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

  /** Ends supervision and leaves the program running (and its pid file) for the next Junction to adopt. */
  detach(): void {
    this.stopping = true;
    this.epoch++;
    this.cancelRestart();
    const run = this.run;
    this.run = undefined;
    if (!run || run.exit !== undefined) return;
    run.release();
    this.record(`left ${this.options.name} pid ${run.pid} running for the next Junction to adopt`);
  }

  /** One attempt: end a leftover, spawn, wait until ready. When it fails, nothing of it is left running. */
  private async launch(afterCrash = false): Promise<number> {
    const replaced = await this.reapLeftover();
    this.options.prepare?.();
    const run = this.spawnRun(afterCrash ? this.options.restartArgs ?? this.options.args : this.options.args);
    try {
      this.recordStart(run);
      await this.waitReady(run);
    } catch (error) {
      await this.end(run, 'SIGKILL');
      throw error;
    }
    run.up = true;
    const pid = run.pid as number;
    this.originRecord = replaced ? { how: 'replaced', pid, at: new Date().toISOString(), reason: replaced } : { how: 'started', pid, at: new Date().toISOString() };
    return pid;
  }

  /** Ends a leftover named by the pid file; returns why, when there was one. */
  private async reapLeftover(): Promise<string | undefined> {
    const pending = this.pendingReplacement;
    this.pendingReplacement = undefined;
    const pidFile = this.options.pidFile;
    if (!pidFile) return undefined;
    const stale = reapStaleProcess(pidFile.path, pidFile.marker);
    if (stale === undefined) return undefined;
    const reason = pending?.pid === stale ? pending.reason : 'left by an earlier run, not adopted';
    this.record(`ended ${this.options.name} pid ${stale}: ${reason}`);
    await waitUntilGone(stale);
    return `pid ${stale}: ${reason}`;
  }

  private spawnRun(args: string[]): Run {
    const { logFile, spawnProcess = (p, a, o) => spawn(p, a, o) } = this.options;
    const env = this.options.env ?? process.env;
    const logFd = logFile ? openSync(logFile, 'a', 0o600) : undefined;
    let child: ChildProcess;
    try {
      child = spawnProcess(resolveProgram(this.options.program), args, {
        env,
        stdio: logFd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', logFd, logFd],
        // a session of its own: a signal to Junction's process group (Ctrl-C) does not reach it
        detached: true,
      });
    } finally {
      if (logFd !== undefined) closeSync(logFd); // the child has its own copy
    }
    return this.track(child, args);
  }

  private recordStart(run: Run): void {
    const pid = run.pid;
    if (pid === undefined) return; // spawning failed; its 'error' follows
    if (this.options.pidFile) recordPid(this.options.pidFile.path, pid);
    this.record(`started ${this.options.name} pid ${pid}: ${this.options.program} ${run.args.join(' ')}`);
  }

  private newRun(pid: number | undefined, args: string[], signal: Run['signal'], release: Run['release']): { run: Run; end: (reason: string) => void } {
    let settle!: () => void;
    const run: Run = { pid, args, startedAt: Date.now(), up: false, ended: new Promise((resolve) => (settle = resolve)), signal, release };
    const end = (reason: string) => {
      if (run.exit !== undefined) return;
      run.exit = reason;
      settle();
      this.onEnded(run);
    };
    this.run = run;
    return { run, end };
  }

  private track(child: ChildProcess, args: string[]): Run {
    const { run, end } = this.newRun(child.pid, args, (signal) => child.kill(signal), () => {
      child.removeAllListeners('exit');
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.unref();
    });
    // A spawn that fails (ENOENT) emits 'error' and never 'exit'.
    child.on('error', (error) => (child.pid === undefined ? end(`could not be started: ${error.message}`) : this.record(`${this.options.name}: ${error.message}`)));
    child.once('exit', (code, signal) => end(`exited with ${signal ?? `code ${code}`}`));
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => line && this.record(line));
    }
    return run;
  }

  /** An adopted process is not our child: it is watched through /proc. */
  private watch(pid: number): Run {
    const timer = setInterval(() => processGone(pid) && end('exited (adopted, so its exit status is unknown)'), ADOPTED_POLL_MS);
    timer.unref();
    const kill = (signal: NodeJS.Signals) => processGone(pid) || process.kill(pid, signal);
    const { run, end } = this.newRun(pid, [], kill, () => clearInterval(timer));
    void run.ended.then(() => clearInterval(timer));
    return run;
  }

  /** A death after the program was up is a crash: restart with backoff. A launch reports its own failures. */
  private onEnded(run: Run): void {
    const pid = run.pid === undefined ? '' : ` pid ${run.pid}`;
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
      pid = await this.launch(true);
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
    if (run.pid === undefined) await run.ended; // spawning failed: 'error' is on its way
    const timeoutMs = this.options.readyTimeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    // Looked at again 5 ms after the first try, doubling to 50 ms: charon answers 20-40 ms after its
    // spawn, and a fixed 50 ms step made every first-peer commit wait for the next step.
    let pause = 5;
    for (;;) {
      if (run.exit !== undefined) throw new Error(`${this.options.name} ${run.exit} during start (${this.lastOutput()})`);
      if (!this.options.ready) return;
      if (Date.now() >= deadline) break;
      try {
        await this.options.ready();
        return;
      } catch (error) {
        lastError = error;
        await sleep(pause);
        pause = Math.min(pause * 2, 50);
      }
    }
    throw new Error(`${this.options.name} not ready after ${timeoutMs} ms: ${message(lastError)} (${this.lastOutput()})`);
  }

  private lastOutput(): string {
    const lines = this.recentLog().slice(-5).join(' | ') || 'no output';
    return this.options.logFile ? `${lines}; log ${this.options.logFile}` : lines;
  }

  /** Signals the run's process by its pid, if it has one and still runs. */
  private signal(run: Run, signal: NodeJS.Signals): void {
    if (run.exit === undefined && run.pid !== undefined) run.signal(signal);
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
