// The configuration side of the DHCP subsystem: Junction's one dnsmasq,
// started when some interface is served and stopped when none is, running
// exactly the rendered dnsmasq.conf. dnsmasq cannot reload its main
// configuration (SIGHUP rereads only hosts and resolv files), so a changed
// rendering is checked with `dnsmasq --test` first and then means a
// restart; leases survive it in the lease file. An unchanged rendering
// costs nothing. dnsmasq outlives Junction: a new Junction adopts the one
// an earlier Junction left, and the file it was started with is what it
// runs, so a restart of Junction restarts nothing that matches. Drift
// compares content: the file on disk and the file dnsmasq was started with,
// against the rendering.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { CommandRunner } from '../../platform/command-runner.js';
import type { Logger } from '../../platform/log.js';
import { SerialQueue } from '../../platform/serial-queue.js';
import { reapStaleProcess, waitUntilGone } from '../../platform/stale-process.js';
import { firstLine } from '../../platform/requirements.js';
import { ApplyFailed } from '../../core/subsystem.js';
import { DnsmasqProcess, type DnsmasqProcessOptions } from './dnsmasq-process.js';
import { describeDhcp, inactiveDhcpArtifact, pathOfDnsmasqError, type DhcpArtifact } from './render.js';

/** What the subsystem needs of a supervised dnsmasq (DnsmasqProcess). */
export type DnsmasqDaemon = Pick<DnsmasqProcess, 'pid' | 'restarts' | 'origin' | 'adopt' | 'start' | 'stop' | 'detach' | 'recentLog' | 'files'>;

export interface DhcpConfigurationOptions {
  runner: CommandRunner;
  /** dnsmasq's files go to <stateDir>/dnsmasq */
  stateDir: string;
  log: Logger;
  /** seam for unit tests: how dnsmasq is started */
  launchDnsmasq?: (options: DnsmasqProcessOptions) => DnsmasqDaemon;
}

/** What status reads of the running configuration. */
export interface DhcpRunning {
  /** the last artifact fully applied: what dnsmasq runs */
  readonly applied: DhcpArtifact;
  readonly dnsmasq: DnsmasqDaemon | undefined;
  readonly leaseFile: string;
}

/** How many differing lines a drift report quotes. */
const DRIFT_LINES = 10;

const readText = (file: string): string => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

export class DhcpConfiguration implements DhcpRunning {
  readonly dir: string;
  private current: DnsmasqDaemon | undefined;
  /** the configuration the running dnsmasq was started with */
  private runningText = '';
  private appliedArtifact: DhcpArtifact = inactiveDhcpArtifact();
  /** set by adoptDnsmasq() when nothing could be adopted: startDnsmasq() goes on with it */
  private pending: DnsmasqDaemon | undefined;
  private readonly queue = new SerialQueue();

  constructor(private readonly options: DhcpConfigurationOptions) {
    this.dir = path.join(options.stateDir, 'dnsmasq');
  }

  get applied(): DhcpArtifact {
    return this.appliedArtifact;
  }

  get dnsmasq(): DnsmasqDaemon | undefined {
    return this.current;
  }

  get leaseFile(): string {
    return path.join(this.dir, 'dnsmasq.leases');
  }

  private get configFile(): string {
    return path.join(this.dir, 'dnsmasq.conf');
  }

  /** What rollback goes back to: what dnsmasq runs now. */
  async snapshot(): Promise<DhcpArtifact> {
    return this.appliedArtifact;
  }

  async drift(desired: DhcpArtifact): Promise<string[]> {
    if (!desired.active) return this.current?.pid ? ['dnsmasq runs but no interface is served'] : [];
    if (!this.current?.pid) return ['dnsmasq is not running while the dhcp section serves interfaces'];
    const drift: string[] = [];
    const onDisk = readText(this.configFile);
    if (onDisk !== desired.text) drift.push(`dnsmasq.conf differs from the rendering: ${lineDiff(onDisk, desired.text)}`);
    if (this.runningText !== desired.text) drift.push(`dnsmasq runs another configuration than the rendering: ${lineDiff(this.runningText, desired.text)}`);
    return drift;
  }

  apply(desired: DhcpArtifact): Promise<string[]> {
    return this.queue.run(() => this.applyNow(desired));
  }

  /** Stops dnsmasq (a full stop: `junction down`); VPC hosts keep their leases until they expire. */
  close(): Promise<void> {
    return this.queue.run(() => this.stopDnsmasq());
  }

  /** Junction's clean stop: dnsmasq keeps serving for the next Junction to adopt. */
  detach(): Promise<void> {
    return this.queue.run(async () => {
      const dnsmasq = this.current;
      this.current = undefined;
      if (!dnsmasq) return;
      const pid = dnsmasq.pid;
      dnsmasq.detach();
      this.options.log.info('dhcp: dnsmasq left running', { pid });
    });
  }

  private async applyNow(desired: DhcpArtifact): Promise<string[]> {
    // a fresh Junction first looks for the dnsmasq an earlier one left
    if (!this.current) await this.adoptDnsmasq();
    const actions: string[] = [];
    if (!desired.active) {
      if (this.current) {
        await this.stopDnsmasq();
        actions.push('stop dnsmasq (no interface served)');
      }
      const leftover = this.pending && reapStaleProcess(this.pending.files.supervisedPidFile, this.pending.files.configFile);
      this.pending = undefined;
      if (leftover) {
        await waitUntilGone(leftover);
        actions.push(`end dnsmasq pid ${leftover} left by an earlier run (no interface served)`);
      }
      this.appliedArtifact = desired;
      return actions;
    }
    // a dnsmasq that died and that its supervisor is still restarting: end that supervision first, so one dnsmasq runs
    if (this.current && this.current.pid === undefined) await this.stopDnsmasq();
    const running = this.current?.pid;
    if (running && this.runningText === desired.text && readText(this.configFile) === desired.text) {
      this.appliedArtifact = desired;
      return actions;
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await this.install(desired);
    if (running && this.runningText === desired.text) {
      actions.push('rewrite dnsmasq.conf (dnsmasq already runs this configuration)');
    } else {
      if (running) await this.stopDnsmasq();
      const pid = await this.startDnsmasq(desired);
      actions.push(running ? `restart dnsmasq (pid ${running} -> ${pid}): its configuration changed` : `start dnsmasq (pid ${pid})`);
    }
    this.appliedArtifact = desired;
    return actions;
  }

  /** Writes the file through `dnsmasq --test` first: a rendering dnsmasq refuses never replaces the running one. */
  private async install(desired: DhcpArtifact): Promise<void> {
    const candidate = `${this.configFile}.new`;
    writeFileSync(candidate, desired.text, { mode: 0o600 });
    const result = await this.options.runner.run('dnsmasq', ['--test', `--conf-file=${candidate}`], { timeoutMs: 10_000 });
    if (result.code !== 0) {
      rmSync(candidate, { force: true });
      const why = result.code === 127 ? 'dnsmasq is not installed' : firstLine(result.stderr || result.stdout, `exit ${result.code}`);
      throw new ApplyFailed('dhcp', `dnsmasq rejected the rendered configuration: ${why}`, pathOfDnsmasqError(desired, why));
    }
    renameSync(candidate, this.configFile);
  }

  private launchDnsmasq(): DnsmasqDaemon {
    const launch = this.options.launchDnsmasq ?? ((o: DnsmasqProcessOptions) => new DnsmasqProcess(o));
    const dnsmasq: DnsmasqDaemon = launch({
      dir: this.dir,
      backoff: { initialMs: 500, maxMs: 10_000 },
      // it read the same dnsmasq.conf again: nothing to re-apply, but say so
      onRestart: (pid) => this.options.log.warn('dhcp: dnsmasq restarted after it died', { pid, restarts: dnsmasq.restarts }),
      onLog: (line) => this.options.log.debug('dnsmasq', { line }),
    });
    return dnsmasq;
  }

  /** Takes over the dnsmasq an earlier Junction left; what it runs is the file it was started with. */
  private async adoptDnsmasq(): Promise<void> {
    const dnsmasq = this.launchDnsmasq();
    const pid = await dnsmasq.adopt();
    if (pid === undefined) {
      this.pending = dnsmasq; // startDnsmasq() goes on with it: it ends a refused leftover and says why
      return;
    }
    this.current = dnsmasq;
    this.runningText = readText(this.configFile);
    this.options.log.info('dhcp: adopted the dnsmasq an earlier Junction left running', { pid });
  }

  private async startDnsmasq(desired: DhcpArtifact): Promise<number> {
    const dnsmasq = this.pending ?? this.launchDnsmasq();
    this.pending = undefined;
    this.current = dnsmasq;
    try {
      const pid = await dnsmasq.start();
      this.runningText = desired.text;
      const replaced = dnsmasq.origin?.reason;
      this.options.log.info('dhcp: dnsmasq started', { pid, config: this.configFile, ...(replaced ? { replaced } : {}) });
      return pid;
    } catch (error) {
      this.current = undefined;
      this.runningText = '';
      throw new ApplyFailed('dhcp', (error as Error).message, pathOfDnsmasqError(desired, (error as Error).message));
    }
  }

  private async stopDnsmasq(): Promise<void> {
    const dnsmasq = this.current;
    this.current = undefined;
    this.runningText = '';
    if (dnsmasq) {
      await dnsmasq.stop();
      this.options.log.info('dhcp: dnsmasq stopped');
    }
  }
}

/** The configuration lines that differ between two dnsmasq.conf texts. */
function lineDiff(running: string, wanted: string): string {
  const have = describeDhcp({ ...inactiveDhcpArtifact(), active: true, text: running });
  const want = describeDhcp({ ...inactiveDhcpArtifact(), active: true, text: wanted });
  const changes = [...have.filter((l) => !want.includes(l)).map((l) => `- ${l}`), ...want.filter((l) => !have.includes(l)).map((l) => `+ ${l}`)];
  const quoted = changes.slice(0, DRIFT_LINES).join('; ');
  return changes.length > DRIFT_LINES ? `${quoted}; ... (${changes.length - DRIFT_LINES} more)` : quoted || 'same lines, other order or comments';
}
