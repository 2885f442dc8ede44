// Starts and supervises one charon for one state directory: its own
// strongswan.conf, VICI socket and log there, and its own /run (charon
// refuses to start while /var/run/charon.pid exists, so two charons on one
// host each need a private /run). If charon dies it is started again with
// backoff, and onRestart callbacks re-apply the configuration it lost.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { resolveProgram } from '../exec/command-runner.js';
import { reapStaleProcess, recordPid } from '../exec/stale-process.js';
import path from 'node:path';
import { charonPaths, renderStrongswanConf, type CharonSettings } from './strongswan-conf.js';

export const DEFAULT_CHARON_BINARY = '/usr/lib/ipsec/charon';

export interface CharonProcessOptions extends CharonSettings {
  /** Run charon inside this network namespace (ip netns exec). */
  netns?: string;
  charonBinary?: string;
  /** How long start() waits for the VICI socket to accept connections. */
  startTimeoutMs?: number;
  restartBackoff?: { initialMs: number; maxMs: number };
  /** A run that lasted this long resets the backoff. */
  stableAfterMs?: number;
  /** Seam for tests: how the process is spawned. */
  spawnProcess?: (program: string, args: string[], options: { env: NodeJS.ProcessEnv; stdio: ['ignore', number, number] }) => ChildProcess;
}

export type RestartListener = () => void | Promise<void>;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function socketAccepts(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ path: socketPath });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export class CharonProcess {
  readonly confPath: string;
  readonly socketPath: string;
  readonly logPath: string;
  /** charon's pid, so a copy left by a killed Junction can be ended */
  readonly pidPath: string;
  private child: ChildProcess | undefined;
  private stopping = false;
  /** During start() a death is reported to the caller, not supervised. */
  private firstStart = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private restartListeners: RestartListener[] = [];
  private startedAt = 0;
  private restarts = 0;

  constructor(private readonly options: CharonProcessOptions) {
    const paths = charonPaths(options.stateDir);
    this.confPath = paths.conf;
    this.socketPath = paths.socket;
    this.logPath = paths.log;
    this.pidPath = path.join(options.stateDir, 'charon.pid');
    this.backoffMs = options.restartBackoff?.initialMs ?? 500;
  }

  /** charon's pid while it runs (the spawn chain execs, so this is charon itself). */
  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  get restartCount(): number {
    return this.restarts;
  }

  /** Called after every restart, once the new charon answers on its socket. */
  onRestart(listener: RestartListener): () => void {
    this.restartListeners.push(listener);
    return () => {
      this.restartListeners = this.restartListeners.filter((l) => l !== listener);
    };
  }

  /** Writes the config, starts charon and resolves once its VICI socket accepts connections. */
  async start(): Promise<void> {
    if (this.child) return;
    this.stopping = false;
    fs.mkdirSync(this.options.stateDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(this.confPath, renderStrongswanConf(this.options), { mode: 0o600 });
    this.firstStart = true;
    try {
      await this.launch();
    } catch (error) {
      // a failed start is reported, not retried behind the caller's back
      this.stopping = true;
      throw error;
    } finally {
      this.firstStart = false;
    }
  }

  /** Stops supervision and charon (only our own pid): SIGTERM, then SIGKILL. */
  async stop(timeoutMs = 5_000): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
    this.child = undefined;
  }

  private note(line: string): void {
    try {
      fs.appendFileSync(this.logPath, `${new Date().toISOString()} junction: ${line}\n`);
    } catch {
      // the log is a convenience; supervision must go on without it
    }
  }

  private command(): { program: string; args: string[] } {
    const charon = this.options.charonBinary ?? DEFAULT_CHARON_BINARY;
    // exec at every step, so the pid we hold is charon's own
    const inner = ['unshare', '-m', 'sh', '-c', `mount -t tmpfs tmpfs /run && exec "$0"`, charon];
    if (this.options.netns) return { program: resolveProgram('ip'), args: ['netns', 'exec', this.options.netns, ...inner] };
    return { program: resolveProgram(inner[0]!), args: inner.slice(1) };
  }

  private async launch(): Promise<void> {
    // A charon left by a Junction that was SIGKILLed still holds UDP 500/4500.
    const stale = reapStaleProcess(this.pidPath, this.confPath);
    if (stale) this.note(`ended charon pid ${stale} left by an earlier run`);
    fs.rmSync(this.socketPath, { force: true });
    const { program, args } = this.command();
    const logFd = fs.openSync(this.logPath, 'a', 0o600);
    const env = { ...process.env, STRONGSWAN_CONF: this.confPath };
    const spawnProcess = this.options.spawnProcess ?? ((p, a, o) => spawn(p, a, o));
    let child: ChildProcess;
    try {
      child = spawnProcess(program, args, { env, stdio: ['ignore', logFd, logFd] });
    } finally {
      fs.closeSync(logFd);
    }
    this.child = child;
    if (child.pid !== undefined) recordPid(this.pidPath, child.pid);
    this.startedAt = Date.now();
    let exitedEarly: string | undefined;
    child.on('error', (error) => {
      exitedEarly = error.message;
      this.note(`charon could not be started: ${error.message}`);
    });
    child.once('exit', (code, signal) => {
      exitedEarly ??= `exited with ${signal ?? `code ${code}`}`;
      this.handleExit(child, code, signal);
    });
    this.note(`started charon pid ${child.pid ?? '?'}${this.options.netns ? ` in netns ${this.options.netns}` : ''}`);

    const deadline = Date.now() + (this.options.startTimeoutMs ?? 10_000);
    while (Date.now() < deadline) {
      if (exitedEarly) throw new Error(`charon ${exitedEarly} during start; see ${this.logPath}`);
      if (fs.existsSync(this.socketPath) && (await socketAccepts(this.socketPath))) return;
      await sleep(50);
    }
    child.kill('SIGKILL'); // its exit handler schedules the next attempt when supervising
    throw new Error(`charon did not open ${this.socketPath} within ${this.options.startTimeoutMs ?? 10_000} ms; see ${this.logPath}`);
  }

  private handleExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child === child) this.child = undefined;
    this.note(`charon pid ${child.pid ?? '?'} exited with ${signal ?? `code ${code}`}`);
    if (this.stopping || this.firstStart) return;
    const maxMs = this.options.restartBackoff?.maxMs ?? 30_000;
    if (Date.now() - this.startedAt >= (this.options.stableAfterMs ?? 60_000)) this.backoffMs = this.options.restartBackoff?.initialMs ?? 500;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, maxMs);
    this.note(`restarting charon in ${delay} ms`);
    this.restartTimer = setTimeout(() => void this.restart(), delay);
  }

  private async restart(): Promise<void> {
    this.restartTimer = undefined;
    if (this.stopping) return;
    try {
      await this.launch();
    } catch (error) {
      this.note(`restart failed: ${(error as Error).message}`);
      return; // the exit handler schedules the next attempt
    }
    if (this.stopping) return;
    this.restarts++;
    for (const listener of this.restartListeners) {
      try {
        await listener();
      } catch (error) {
        this.note(`re-applying configuration after restart failed: ${(error as Error).message}`);
      }
    }
  }
}
