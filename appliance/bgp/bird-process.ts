// Starts and supervises one bird for a state directory: `bird -f` keeps it
// in the foreground as our child, so we know its pid and see it die. It is
// restarted with exponential backoff; stop() signals that pid and no other.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { resolveProgram } from '../exec/command-runner.js';
import { BirdSocket } from './bird-socket.js';

export interface BirdProcessOptions {
  stateDir: string;
  /** default <stateDir>/bird.conf */
  configFile?: string;
  /** default <stateDir>/bird.ctl */
  socketPath?: string;
  /** default <stateDir>/bird.pid */
  pidFile?: string;
  /** run inside a named network namespace (lab); the appliance runs in its own */
  netns?: string;
  backoff?: { initialMs?: number; maxMs?: number };
  /** called after a restart that followed a crash, once the socket answers: re-apply here */
  onRestart?: (pid: number) => void;
  /** bird's log lines (it logs to stderr) */
  onLog?: (line: string) => void;
}

export class BirdProcess {
  readonly configFile: string;
  readonly socketPath: string;
  readonly pidFile: string;
  private child: ChildProcess | undefined;
  private stopping = false;
  private delayMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private readonly log: string[] = [];
  /** how many times bird died and was started again */
  restarts = 0;

  constructor(private readonly options: BirdProcessOptions) {
    this.configFile = options.configFile ?? path.join(options.stateDir, 'bird.conf');
    this.socketPath = options.socketPath ?? path.join(options.stateDir, 'bird.ctl');
    this.pidFile = options.pidFile ?? path.join(options.stateDir, 'bird.pid');
    this.delayMs = options.backoff?.initialMs ?? 500;
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** The last lines bird wrote, for status and error messages. */
  recentLog(): string[] {
    return [...this.log];
  }

  /** Starts bird and resolves once its control socket greets us. */
  async start(readyTimeoutMs = 10_000): Promise<number> {
    this.stopping = false;
    mkdirSync(this.options.stateDir, { recursive: true });
    const pid = this.spawnBird();
    await this.waitReady(readyTimeoutMs);
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

  private spawnBird(): number {
    const birdArgs = ['-f', '-c', this.configFile, '-s', this.socketPath, '-P', this.pidFile];
    // `ip netns exec` execs bird in place, so the child pid is bird's pid.
    const [program, args] = this.options.netns
      ? [resolveProgram('ip'), ['netns', 'exec', this.options.netns, resolveProgram('bird'), ...birdArgs]]
      : [resolveProgram('bird'), birdArgs];
    rmSync(this.socketPath, { force: true });
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.startedAt = Date.now();
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        this.log.push(line);
        if (this.log.length > 200) this.log.shift();
        this.options.onLog?.(line);
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.on('error', (e) => collect(Buffer.from(`spawn failed: ${e.message}`)));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    if (child.pid === undefined) throw new Error(`could not start ${program}`);
    return child.pid;
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child || this.stopping) return;
    this.log.push(`bird exited (${signal ?? `code ${code}`}); restarting in ${this.delayMs} ms`);
    // A bird that ran for a while earns a fresh backoff.
    if (Date.now() - this.startedAt > 30_000) this.delayMs = this.options.backoff?.initialMs ?? 500;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.options.backoff?.maxMs ?? 30_000);
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      this.restarts++;
      try {
        const pid = this.spawnBird();
        this.waitReady(10_000).then(() => this.options.onRestart?.(pid), () => undefined);
      } catch (e) {
        this.log.push(`restart failed: ${(e as Error).message}`);
      }
    }, delay);
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (this.pid === undefined) {
        throw new Error(`bird exited during start: ${this.log.slice(-5).join(' | ') || 'no output'}`);
      }
      try {
        const client = await BirdSocket.connect(this.socketPath, { timeoutMs: 2_000 });
        client.close();
        return;
      } catch (e) {
        lastError = e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`bird control socket ${this.socketPath} not ready after ${timeoutMs} ms: ${String(lastError)}`);
  }
}
