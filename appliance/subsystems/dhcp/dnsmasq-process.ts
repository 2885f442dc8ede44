// Starts and supervises Junction's one dnsmasq: `--keep-in-foreground`
// keeps it our child, so its pid is known and its death seen; the generic
// Supervisor (platform/supervisor.ts) restarts it with backoff and signals
// that pid only. dnsmasq outlives Junction (VPC hosts keep renewing leases
// and resolving names through a restart of the control plane): adopt()
// takes over the dnsmasq an earlier Junction left when it is still the one
// that wrote its pid file. This class only adds dnsmasq's command line, its
// files, and "ready = dnsmasq wrote its pid file", which it does once its
// sockets are bound and its lease file is read.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Supervisor, type DaemonOrigin } from '../../platform/supervisor.js';

export interface DnsmasqProcessOptions {
  /** dnsmasq.conf, dnsmasq.leases, the pid files and dnsmasq.log live here */
  dir: string;
  backoff?: { initialMs?: number; maxMs?: number };
  /** called after a restart that followed a crash, once it is ready */
  onRestart?: (pid: number) => void;
  /** Junction's notes about dnsmasq (dnsmasq's own output goes to <dir>/dnsmasq.log) */
  onLog?: (line: string) => void;
}

/** Where dnsmasq's files are in its directory. */
export function dnsmasqPaths(dir: string) {
  return {
    configFile: path.join(dir, 'dnsmasq.conf'),
    leaseFile: path.join(dir, 'dnsmasq.leases'),
    /** written by dnsmasq itself: ready, and proof that the pid is the one that bound the sockets */
    pidFile: path.join(dir, 'dnsmasq.pid'),
    /** written by the Supervisor: the leftover a new Junction adopts */
    supervisedPidFile: path.join(dir, 'dnsmasq.supervised.pid'),
    logFile: path.join(dir, 'dnsmasq.log'),
  };
}

/** dnsmasq's command line: the rendered file plus the paths, which the rendering leaves out. */
export function dnsmasqArgs(dir: string): string[] {
  const files = dnsmasqPaths(dir);
  return ['--keep-in-foreground', `--conf-file=${files.configFile}`, `--dhcp-leasefile=${files.leaseFile}`, `--pid-file=${files.pidFile}`, '--log-facility=-'];
}

export class DnsmasqProcess {
  readonly files: ReturnType<typeof dnsmasqPaths>;
  private supervisor: Supervisor | undefined;
  private earlierRestarts = 0;

  constructor(private readonly options: DnsmasqProcessOptions) {
    this.files = dnsmasqPaths(options.dir);
  }

  get pid(): number | undefined {
    return this.supervisor?.pid;
  }

  /** how many times dnsmasq died and was started again */
  get restarts(): number {
    return this.earlierRestarts + (this.supervisor?.restarts ?? 0);
  }

  get origin(): DaemonOrigin | undefined {
    return this.supervisor?.origin;
  }

  recentLog(): string[] {
    return this.supervisor?.recentLog() ?? [];
  }

  /** Takes over the dnsmasq an earlier Junction left, if it still owns its pid file; resolves its pid, or undefined. */
  async adopt(): Promise<number | undefined> {
    if (this.supervisor?.running) return this.supervisor.pid;
    return this.newSupervisor().adopt(async (pid) => (this.ownPid() === pid ? undefined : `its pid file ${this.files.pidFile} does not name it`));
  }

  /** Starts dnsmasq and resolves once it has bound its sockets. */
  async start(readyTimeoutMs = 10_000): Promise<number> {
    if (this.supervisor?.running) return this.supervisor.pid as number;
    mkdirSync(this.options.dir, { recursive: true, mode: 0o700 });
    return this.newSupervisor(readyTimeoutMs).start().catch((error: Error) => {
      throw new Error(`dnsmasq did not start: ${error.message}`);
    });
  }

  /** SIGTERM to our dnsmasq only; SIGKILL if it has not exited in time. */
  async stop(timeoutMs = 5_000): Promise<void> {
    await this.supervisor?.stop(timeoutMs);
  }

  /** Ends supervision and leaves dnsmasq serving for the next Junction to adopt. */
  detach(): void {
    this.supervisor?.detach();
  }

  private ownPid(): number | undefined {
    try {
      const pid = Number(readFileSync(this.files.pidFile, 'utf8').trim());
      return Number.isInteger(pid) && pid > 1 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private newSupervisor(readyTimeoutMs = 10_000): Supervisor {
    if (this.supervisor && !this.supervisor.running && this.supervisor.origin === undefined) return this.supervisor; // adopt() found nothing: start() goes on with it
    this.earlierRestarts += this.supervisor?.restarts ?? 0;
    const supervisor = new Supervisor({
      name: 'dnsmasq',
      program: 'dnsmasq',
      args: dnsmasqArgs(this.options.dir),
      ready: async () => {
        if (this.ownPid() === undefined) throw new Error('dnsmasq has not written its pid file yet');
      },
      readyTimeoutMs,
      backoff: { initialMs: this.options.backoff?.initialMs ?? 500, maxMs: this.options.backoff?.maxMs ?? 30_000 },
      // dnsmasq's output goes to a file: it keeps serving after Junction exits
      logFile: this.files.logFile,
      pidFile: { path: this.files.supervisedPidFile, marker: this.files.configFile },
      // a stale pid file would make the next start look ready at once
      prepare: () => rmSync(this.files.pidFile, { force: true }),
      ...(this.options.onRestart ? { onRestart: this.options.onRestart } : {}),
      ...(this.options.onLog ? { onLog: this.options.onLog } : {}),
    });
    this.supervisor = supervisor;
    return supervisor;
  }
}
