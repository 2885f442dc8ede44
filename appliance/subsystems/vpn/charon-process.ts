// Starts and supervises one charon for one state directory: its own
// strongswan.conf, VICI socket and log there, and its own /run (charon
// refuses to start while /var/run/charon.pid exists, so two charons on one
// host each need a private /run). The shared Supervisor restarts it with
// backoff if it dies, and onRestart listeners re-apply the configuration
// it lost; this class only adds charon's command line, its files and
// "ready = the VICI socket accepts connections". charon outlives Junction
// (it carries the ESP traffic on libipsec): adopt() takes over the charon
// an earlier Junction left when it answers on VICI and reads the
// strongswan.conf this Junction would write; otherwise it is replaced.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Supervisor, type DaemonOrigin, type RestartListener, type SpawnProcess } from '../../platform/supervisor.js';
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
  /** Seam for tests: how the process is spawned (stdio is charon's log file). */
  spawnProcess?: SpawnProcess;
}

export type { RestartListener } from '../../platform/supervisor.js';

/** Resolves once the socket accepts a connection, rejects while it does not. */
function socketAccepts(socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path: socketPath });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

/**
 * exec at every step, so the pid the supervisor holds is charon's own. A
 * private /run where a mount namespace can be made (root on a host, where
 * another charon may run: the lab's on-prem peer). A container has no
 * CAP_SYS_ADMIN for that, and Junction's charon is the only one in it, so
 * there it keeps the container's /run (charon removes a stale pid file).
 */
function charonCommand(charon: string, netns: string | undefined): { program: string; args: string[] } {
  const privateRun = `mount -t tmpfs tmpfs /run && exec "$0"`;
  const inner = ['sh', '-c', `if unshare -m true 2>/dev/null; then exec unshare -m sh -c '${privateRun}' "$0"; else exec "$0"; fi`, charon];
  return netns ? { program: 'ip', args: ['netns', 'exec', netns, ...inner] } : { program: inner[0]!, args: inner.slice(1) };
}

export class CharonProcess {
  readonly confPath: string;
  readonly socketPath: string;
  readonly logPath: string;
  /** charon's pid, so a copy left by a killed Junction can be ended */
  readonly pidPath: string;
  private readonly supervisor: Supervisor;

  constructor(private readonly options: CharonProcessOptions) {
    const paths = charonPaths(options.stateDir);
    this.confPath = paths.conf;
    this.socketPath = paths.socket;
    this.logPath = paths.log;
    this.pidPath = path.join(options.stateDir, 'charon.pid');
    this.supervisor = new Supervisor({
      name: 'charon',
      ...charonCommand(options.charonBinary ?? DEFAULT_CHARON_BINARY, options.netns),
      env: { ...process.env, STRONGSWAN_CONF: this.confPath },
      ready: () => socketAccepts(this.socketPath),
      readyTimeoutMs: options.startTimeoutMs ?? 10_000,
      backoff: options.restartBackoff,
      stableAfterMs: options.stableAfterMs ?? 60_000,
      logFile: this.logPath,
      // a charon left by a Junction that was SIGKILLed still holds UDP 500/4500
      pidFile: { path: this.pidPath, marker: this.confPath },
      prepare: () => fs.rmSync(this.socketPath, { force: true }),
      spawnProcess: options.spawnProcess,
    });
  }

  /** charon's pid while it runs (the spawn chain execs, so this is charon itself). */
  get pid(): number | undefined {
    return this.supervisor.pid;
  }

  get restartCount(): number {
    return this.supervisor.restarts;
  }

  /** started, adopted from an earlier Junction, or started in place of one that could not be (and why) */
  get origin(): DaemonOrigin | undefined {
    return this.supervisor.origin;
  }

  /**
   * Takes over the charon an earlier Junction left, if it answers on its
   * VICI socket and its strongswan.conf is the one these settings render
   * (charon reads it only at start). Resolves true when adopted; false
   * leaves start() to replace it.
   */
  async adopt(): Promise<boolean> {
    if (this.supervisor.running) return true;
    const wanted = renderStrongswanConf(this.options);
    const pid = await this.supervisor.adopt(async () => {
      let current: string;
      try {
        current = fs.readFileSync(this.confPath, 'utf8');
      } catch {
        return 'its strongswan.conf is missing, so its settings cannot be confirmed';
      }
      if (current !== wanted) return 'it runs with other settings (its strongswan.conf differs from the rendering)';
      return socketAccepts(this.socketPath).then(() => undefined, (error: Error) => `it does not answer on its VICI socket (${error.message})`);
    });
    return pid !== undefined;
  }

  /** Ends supervision and leaves charon (and its SAs) running for the next Junction. */
  detach(): void {
    this.supervisor.detach();
  }

  /** Called after every restart, once the new charon answers on its socket. */
  onRestart(listener: RestartListener): () => void {
    return this.supervisor.onRestart(listener);
  }

  /** Writes the config, starts charon and resolves once its VICI socket accepts connections. */
  async start(): Promise<void> {
    if (this.supervisor.running) return;
    fs.mkdirSync(this.options.stateDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(this.confPath, renderStrongswanConf(this.options), { mode: 0o600 });
    await this.supervisor.start();
  }

  /** Stops supervision and charon (only our own pid): SIGTERM, then SIGKILL. */
  async stop(timeoutMs = 5_000): Promise<void> {
    await this.supervisor.stop(timeoutMs);
  }
}
