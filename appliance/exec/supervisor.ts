// Runs one long-lived child program (a DHCP client, charon, bird), keeps
// it in the foreground so its pid is known, restarts it with exponential
// backoff when it dies, and stops it by that pid only.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolveProgram } from './command-runner.js';
import { reapStaleProcess, recordPid } from './stale-process.js';

export interface SupervisorOptions {
  /** name used in log lines */
  name: string;
  program: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** resolves when the program is ready to be used (e.g. its socket answers) */
  ready?: () => Promise<void>;
  readyTimeoutMs?: number;
  backoff?: { initialMs?: number; maxMs?: number };
  /** after a crash and restart, once ready: re-apply state here */
  onRestart?: (pid: number) => void;
  onLog?: (line: string) => void;
  /**
   * Where to record the pid, with a marker (a path of ours in its command
   * line or environment) that proves a leftover process is ours: a copy
   * left by a killed Junction is ended before a new one starts.
   */
  pidFile?: { path: string; marker: string };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Supervisor {
  private child: ChildProcess | undefined;
  private stopping = false;
  private delayMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private readonly logLines: string[] = [];
  /** how many times the program died and was started again */
  restarts = 0;

  constructor(private readonly options: SupervisorOptions) {
    this.delayMs = options.backoff?.initialMs ?? 500;
  }

  get pid(): number | undefined {
    return this.child && this.child.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  /** The last lines the program wrote, for status and error messages. */
  recentLog(): string[] {
    return [...this.logLines];
  }

  async start(): Promise<number> {
    this.stopping = false;
    if (this.options.pidFile) {
      const stale = reapStaleProcess(this.options.pidFile.path, this.options.pidFile.marker);
      if (stale) this.record(`ended ${this.options.name} pid ${stale} left by an earlier run`);
    }
    const pid = this.spawnChild();
    await this.waitReady();
    return pid;
  }

  /** SIGTERM to our child only; SIGKILL if it has not exited in time. */
  async stop(timeoutMs = 5_000): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  private record(line: string): void {
    this.logLines.push(line);
    if (this.logLines.length > 200) this.logLines.shift();
    this.options.onLog?.(line);
  }

  private spawnChild(): number {
    const child = spawn(resolveProgram(this.options.program), this.options.args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: this.options.env ?? process.env,
    });
    this.child = child;
    this.startedAt = Date.now();
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line) this.record(line);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.on('error', (e) => this.record(`spawn failed: ${e.message}`));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    if (child.pid === undefined) throw new Error(`could not start ${this.options.program}`);
    if (this.options.pidFile) recordPid(this.options.pidFile.path, child.pid);
    return child.pid;
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child || this.stopping) return;
    // A program that ran for a while earns a fresh backoff.
    if (Date.now() - this.startedAt > 30_000) this.delayMs = this.options.backoff?.initialMs ?? 500;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.options.backoff?.maxMs ?? 30_000);
    this.record(`${this.options.name} exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`);
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      this.restarts++;
      try {
        const pid = this.spawnChild();
        this.waitReady().then(() => this.options.onRestart?.(pid), (e: Error) => this.record(`not ready after restart: ${e.message}`));
      } catch (e) {
        this.record(`restart failed: ${(e as Error).message}`);
      }
    }, delay);
    this.restartTimer.unref();
  }

  private async waitReady(): Promise<void> {
    if (!this.options.ready) return;
    const timeoutMs = this.options.readyTimeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.options.name} exited during start: ${this.logLines.slice(-5).join(' | ') || 'no output'}`);
      try {
        await this.options.ready();
        return;
      } catch (e) {
        lastError = e;
        await sleep(50);
      }
    }
    throw new Error(`${this.options.name} not ready after ${timeoutMs} ms: ${String((lastError as Error)?.message ?? lastError)}`);
  }
}
