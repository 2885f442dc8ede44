// Starts and supervises one bird for a state directory: `bird -f` keeps it
// in the foreground as our child, so we know its pid and see it die. The
// generic Supervisor (appliance/platform/supervisor.ts) restarts it with
// exponential backoff and stops that pid and no other. bird outlives
// Junction (its sessions and kernel routes must not notice a restart of
// the control plane): adopt() takes over the bird an earlier Junction left
// when its control socket greets us; whether it runs the current revision
// is then a question of content that the caller answers (bird.conf and the
// protocols bird reports). This class only adds bird's command line, its
// files and "ready = the control socket greets us".
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { resolveProgram } from '../../platform/command-runner.js';
import { Supervisor, type DaemonOrigin } from '../../platform/supervisor.js';
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
  /** Junction's notes about bird (bird's own stderr goes to <stateDir>/bird.log) */
  onLog?: (line: string) => void;
}

export class BirdProcess {
  readonly configFile: string;
  readonly socketPath: string;
  readonly pidFile: string;
  private supervisor: Supervisor | undefined;
  /** restarts counted by supervisors of earlier start() calls */
  private earlierRestarts = 0;

  constructor(private readonly options: BirdProcessOptions) {
    this.configFile = options.configFile ?? path.join(options.stateDir, 'bird.conf');
    this.socketPath = options.socketPath ?? path.join(options.stateDir, 'bird.ctl');
    this.pidFile = options.pidFile ?? path.join(options.stateDir, 'bird.pid');
  }

  get pid(): number | undefined {
    return this.supervisor?.pid;
  }

  /** how many times bird died and was started again */
  get restarts(): number {
    return this.earlierRestarts + (this.supervisor?.restarts ?? 0);
  }

  /** The last lines bird wrote, for status and error messages. */
  recentLog(): string[] {
    return this.supervisor?.recentLog() ?? [];
  }

  /** started, adopted from an earlier Junction, or started in place of one that could not be (and why) */
  get origin(): DaemonOrigin | undefined {
    return this.supervisor?.origin;
  }

  /** Takes over the bird an earlier Junction left, if its control socket greets us; resolves its pid, or undefined. */
  async adopt(): Promise<number | undefined> {
    if (this.supervisor?.running) return this.supervisor.pid;
    const greets = () => BirdSocket.connect(this.socketPath, { timeoutMs: 2_000 }).then((socket) => socket.close());
    return this.newSupervisor().adopt(() => greets().then(() => undefined, (error: Error) => `it does not answer on its control socket (${error.message})`));
  }

  /** Starts bird and resolves once its control socket greets us. */
  async start(readyTimeoutMs = 10_000): Promise<number> {
    if (this.supervisor?.running) return this.supervisor.pid as number;
    const supervisor = this.newSupervisor(readyTimeoutMs);
    // a failed start leaves nothing running and is not retried behind our back
    return supervisor.start().catch((error: Error) => {
      throw new Error(`bird did not start: ${error.message}`);
    });
  }

  /** Ends supervision and leaves bird, its sessions and its kernel routes as they are (Junction's clean stop). */
  detach(): void {
    this.supervisor?.detach();
  }

  private newSupervisor(readyTimeoutMs = 10_000): Supervisor {
    if (this.supervisor && !this.supervisor.running && this.supervisor.origin === undefined) return this.supervisor; // adopt() found nothing: start() goes on with it
    mkdirSync(this.options.stateDir, { recursive: true });
    const birdArgs = ['-f', '-c', this.configFile, '-s', this.socketPath, '-P', this.pidFile];
    // `ip netns exec` execs bird in place, so the child pid is bird's pid.
    const command = (extra: string[]): [string, string[]] => this.options.netns
      ? ['ip', ['netns', 'exec', this.options.netns, resolveProgram('bird'), ...birdArgs, ...extra]]
      : ['bird', [...birdArgs, ...extra]];
    const [program, args] = command([]);
    this.earlierRestarts += this.supervisor?.restarts ?? 0;
    const supervisor = new Supervisor({
      name: 'bird',
      program,
      args,
      // after a crash: graceful restart recovery, so the kernel keeps the old
      // routes until the sessions have come back (kernel protocol `graceful restart on`)
      restartArgs: command(['-R'])[1],
      ready: async () => (await BirdSocket.connect(this.socketPath, { timeoutMs: 2_000 })).close(),
      readyTimeoutMs,
      backoff: { initialMs: this.options.backoff?.initialMs ?? 500, maxMs: this.options.backoff?.maxMs ?? 30_000 },
      // bird's stderr goes to a file: it keeps logging after Junction exits
      logFile: path.join(this.options.stateDir, 'bird.log'),
      // a bird an earlier Junction left is adopted, or ended before a new one starts (only if it runs our config file)
      pidFile: { path: path.join(this.options.stateDir, 'bird.supervised.pid'), marker: this.configFile },
      // the socket of a bird that is gone would refuse the new one
      prepare: () => rmSync(this.socketPath, { force: true }),
      ...(this.options.onRestart ? { onRestart: this.options.onRestart } : {}),
      ...(this.options.onLog ? { onLog: this.options.onLog } : {}),
    });
    this.supervisor = supervisor;
    return supervisor;
  }

  /** SIGTERM to our bird only; SIGKILL if it has not exited in time. */
  async stop(timeoutMs = 5_000): Promise<void> {
    await this.supervisor?.stop(timeoutMs);
  }
}
