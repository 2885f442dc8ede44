// The configuration side of the BGP subsystem: Junction's own bird,
// started with the first `bgp` section and stopped when it goes, running
// exactly the rendered bird.conf, plus the sysctl ECMP needs. Apply renders
// the whole file, `bird -p`, then `configure` (with `timeout N` inside a
// commit-confirm, made permanent by confirm()); an unchanged rendering
// costs nothing, and bird restarts only the protocols whose configuration
// changed, so editing one neighbor leaves the others' sessions alone.
// Drift compares content: the file bird reads, the protocols bird runs and
// the sysctl values. bird outlives Junction: a new Junction adopts the bird
// an earlier one left, and applies to it by content like to any running
// bird, so a Junction restart reconfigures nothing that matches. Passwords go into bird.conf (mode 0600) and nowhere
// else: not into plans, actions, logs or errors.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { runChecked, type CommandRunner } from '../../platform/command-runner.js';
import type { Logger } from '../../platform/log.js';
import { SerialQueue } from '../../platform/serial-queue.js';
import { ApplyFailed, type ApplyOptions } from '../../core/subsystem.js';
import { BirdApplier, BirdConfigInvalid } from './bird-config.js';
import { BirdProcess, type BirdProcessOptions } from './bird-process.js';
import { birdCommand, type BirdControl } from './bird-socket.js';
import { parseProtocols } from './bird-status.js';
import { Sysctls } from '../../platform/sysctls.js';
import { describeBgp, inactiveBgpArtifact, maskPasswords, type BgpArtifact } from './render.js';

/** What the subsystem needs of a supervised bird (BirdProcess). */
export type BirdDaemon = Pick<BirdProcess, 'pid' | 'restarts' | 'origin' | 'adopt' | 'start' | 'stop' | 'detach' | 'recentLog'>;

export interface BgpConfigurationOptions {
  runner: CommandRunner;
  /** bird's files go to <stateDir>/bird */
  stateDir: string;
  log: Logger;
  /** seams for unit tests: how bird is started, and its control socket */
  launchBird?: (options: BirdProcessOptions) => BirdDaemon;
  control?: BirdControl;
}

/** What status and control read of the running configuration. */
export interface BgpRunning {
  /** the last artifact fully applied: what bird runs */
  readonly applied: BgpArtifact;
  readonly bird: BirdDaemon | undefined;
  /** bird's control socket */
  readonly socket: BirdControl;
}

/** How many differing lines a drift report quotes. */
const DRIFT_LINES = 10;

/** The protocols a bird.conf defines, by name (Junction names every one). */
function protocolsOf(text: string): string[] {
  return [...text.matchAll(/^protocol \S+ '([^']+)'/gm)].map((m) => m[1]).sort();
}

export class BgpConfiguration implements BgpRunning {
  readonly birdDir: string;
  readonly socket: BirdControl;
  private current: BirdDaemon | undefined;
  private readonly applier: BirdApplier;
  private appliedArtifact: BgpArtifact = inactiveBgpArtifact();
  private pendingConfirm = false;
  /** set by adoptBird() when nothing could be adopted: startBird() goes on with it */
  private pendingBird: BirdDaemon | undefined;
  private readonly queue = new SerialQueue();
  /** shared with links: where /proc/sys is read-only it names the sysctls the container must be given */
  private readonly sysctls: Sysctls;

  constructor(private readonly options: BgpConfigurationOptions) {
    this.sysctls = new Sysctls(options.runner);
    this.birdDir = path.join(options.stateDir, 'bird');
    const socketPath = path.join(this.birdDir, 'bird.ctl');
    // One short connection per command: survives bird restarts without bookkeeping.
    this.socket = options.control ?? { command: (command) => birdCommand(socketPath, command, { timeoutMs: 30_000 }) };
    this.applier = new BirdApplier({ runner: options.runner, bird: this.socket, configFile: path.join(this.birdDir, 'bird.conf') });
  }

  get applied(): BgpArtifact {
    return this.appliedArtifact;
  }

  get bird(): BirdDaemon | undefined {
    return this.current;
  }

  /** What rollback goes back to: the applied artifact, with the sysctls `desired` touches as the kernel has them now. */
  async snapshot(desired: BgpArtifact): Promise<BgpArtifact> {
    const sysctls: Record<string, string> = { ...this.appliedArtifact.sysctls };
    for (const key of Object.keys(desired.sysctls)) sysctls[key] = await this.readSysctl(key);
    return { ...this.appliedArtifact, sysctls };
  }

  async drift(desired: BgpArtifact): Promise<string[]> {
    const drift = await this.sysctlDrift(desired);
    if (!desired.active) return this.current?.pid ? [...drift, 'bird runs but no bgp section is configured'] : drift;
    if (!this.current?.pid) return [...drift, 'bird is not running while a bgp section is configured'];
    const running = (await this.applier.running()) ?? '';
    if (running !== desired.text) drift.push(`bird.conf differs from the rendering: ${this.lineDiff(running, desired.text)}`);
    try {
      drift.push(...(await this.protocolDrift(desired)));
    } catch (error) {
      drift.push(`bird does not answer on its control socket: ${(error as Error).message}`);
    }
    return drift;
  }

  apply(desired: BgpArtifact, options: ApplyOptions = {}): Promise<string[]> {
    return this.queue.run(() => this.applyNow(desired, options));
  }

  async confirm(): Promise<void> {
    await this.queue.run(async () => {
      if (!this.pendingConfirm || !this.current?.pid) return;
      await this.applier.confirm();
      this.pendingConfirm = false;
    });
  }

  /** Stops bird (a full stop: `junction down`); bird's clean exit removes its kernel routes. */
  close(): Promise<void> {
    return this.queue.run(() => this.stopBird());
  }

  /** Junction's clean stop: bird, its sessions and its kernel routes stay for the next Junction to adopt. */
  detach(): Promise<void> {
    return this.queue.run(async () => {
      const bird = this.current;
      this.current = undefined;
      if (!bird) return;
      const pid = bird.pid;
      bird.detach();
      this.options.log.info('bgp: bird left running', { pid });
    });
  }

  private async applyNow(desired: BgpArtifact, options: ApplyOptions): Promise<string[]> {
    const actions: string[] = [];
    if (!desired.active) {
      if (this.current) {
        await this.stopBird();
        actions.push('stop bird (no bgp section)');
      }
      if (this.appliedArtifact.active || actions.length) {
        // bird withdraws its kernel routes on a clean exit; make sure nothing stays behind
        for (const family of ['-4', '-6']) await this.options.runner.run('ip', [family, 'route', 'flush', 'proto', 'bird']);
      }
      actions.push(...(await this.applySysctls(desired)));
      this.appliedArtifact = desired;
      this.pendingConfirm = false;
      return actions;
    }
    try {
      // a fresh Junction first looks for the bird an earlier one left
      if (!this.current && (await this.adoptBird())) {
        // what the earlier Junction applied may still await `configure confirm`; a confirm with none pending is harmless
        this.pendingConfirm = true;
      }
      if (!this.current?.pid) {
        if (this.current) await this.stopBird();
        await mkdir(this.birdDir, { recursive: true, mode: 0o700 });
        await this.applier.install(desired.text);
        await this.startBird();
        actions.push(`start bird (pid ${this.current!.pid})`);
        this.pendingConfirm = false;
      } else {
        // bird told by hand to run other protocols: configure again although the file is right
        const diverged = await this.protocolDrift(desired).catch(() => []);
        const outcome = await this.applier.apply(desired.text, { ...(options.confirmTimeoutS ? { confirmTimeoutS: options.confirmTimeoutS } : {}), force: diverged.length > 0 });
        if (outcome.changed) {
          actions.push(`bird -p, configure${options.confirmTimeoutS ? ` timeout ${options.confirmTimeoutS}` : ''}: ${outcome.messages.join('; ')}`);
          this.pendingConfirm = outcome.pendingConfirm;
        }
      }
    } catch (error) {
      throw this.applyError(error, desired);
    }
    actions.push(...(await this.applySysctls(desired)));
    this.appliedArtifact = desired;
    return actions;
  }

  private async readSysctl(key: string): Promise<string> {
    return this.sysctls.read(key);
  }

  private async sysctlDrift(desired: BgpArtifact): Promise<string[]> {
    const drift: string[] = [];
    for (const [key, value] of Object.entries(desired.sysctls)) {
      const now = await this.readSysctl(key);
      if (now !== value) drift.push(`sysctl ${key} is ${now || '(unreadable)'}, configured ${value}`);
    }
    return drift;
  }

  private async applySysctls(desired: BgpArtifact): Promise<string[]> {
    try {
      return (await this.sysctls.ensure(desired.sysctls)).map((action) => action.replace('sysctl -q -w ', 'sysctl '));
    } catch (error) {
      throw new ApplyFailed('bgp', (error as Error).message, '/bgp');
    }
  }

  /** The protocols bird runs against those the rendering defines, by name. */
  private async protocolDrift(desired: BgpArtifact): Promise<string[]> {
    const running = parseProtocols(await this.socket.command('show protocols')).map((p) => p.name).sort();
    const wanted = protocolsOf(desired.text);
    const extra = running.filter((p) => !wanted.includes(p));
    const missing = wanted.filter((p) => !running.includes(p));
    return [
      ...(missing.length ? [`bird does not run protocols ${missing.join(', ')}`] : []),
      ...(extra.length ? [`bird runs protocols that are not configured: ${extra.join(', ')}`] : []),
    ];
  }

  /** The statements that differ between two bird.conf texts, passwords masked. */
  private lineDiff(running: string, wanted: string): string {
    const have = describeBgp({ ...inactiveBgpArtifact(), text: running });
    const want = describeBgp({ ...inactiveBgpArtifact(), text: wanted });
    const changes = [...have.filter((l) => !want.includes(l)).map((l) => `- ${l}`), ...want.filter((l) => !have.includes(l)).map((l) => `+ ${l}`)];
    const quoted = changes.slice(0, DRIFT_LINES).join('; ');
    return changes.length > DRIFT_LINES ? `${quoted}; ... (${changes.length - DRIFT_LINES} more)` : quoted || 'same statements, other order or comments';
  }

  private applyError(error: unknown, desired: BgpArtifact): ApplyFailed {
    if (error instanceof ApplyFailed) return error;
    const message = (error as Error).message;
    let where = '/bgp';
    if (error instanceof BirdConfigInvalid && error.line !== undefined) {
      // the neighbor whose protocol or filter block holds the failing line
      const before = desired.text.split('\n').slice(0, error.line).reverse();
      for (const line of before) {
        const m = /^(?:protocol bgp|filter) 'bgp_([A-Za-z0-9_-]+?)(?:_import|_export)?'/.exec(line);
        if (m && desired.paths[m[1]]) {
          where = desired.paths[m[1]];
          break;
        }
      }
    }
    return new ApplyFailed('bgp', maskPasswords(message), where);
  }

  private launchBird(): BirdDaemon {
    const launch = this.options.launchBird ?? ((o: BirdProcessOptions) => new BirdProcess(o));
    const bird: BirdDaemon = launch({
      stateDir: this.birdDir,
      backoff: { initialMs: 500, maxMs: 10_000 },
      onRestart: (pid) => void this.afterBirdRestart(bird, pid),
      onLog: (line) => this.options.log.debug('bird', { line }),
    });
    return bird;
  }

  /** Takes over the bird an earlier Junction left, if it answers; true when adopted. */
  private async adoptBird(): Promise<boolean> {
    const bird = this.launchBird();
    const pid = await bird.adopt();
    if (pid === undefined) {
      this.pendingBird = bird; // startBird() goes on with it: it ends a refused leftover and says why
      return false;
    }
    this.current = bird;
    this.options.log.info('bgp: adopted the bird an earlier Junction left running', { pid });
    return true;
  }

  private async startBird(): Promise<void> {
    const bird = this.pendingBird ?? this.launchBird();
    this.pendingBird = undefined;
    this.current = bird;
    try {
      await bird.start();
    } catch (error) {
      this.current = undefined;
      throw new ApplyFailed('bgp', (error as Error).message, '/bgp');
    }
    const replaced = bird.origin?.reason;
    this.options.log.info('bgp: bird started', { pid: bird.pid, config: path.join(this.birdDir, 'bird.conf'), ...(replaced ? { replaced } : {}) });
  }

  private async stopBird(): Promise<void> {
    const bird = this.current;
    this.current = undefined;
    if (bird) {
      await bird.stop();
      this.options.log.info('bgp: bird stopped');
    }
  }

  /** The supervisor restarted bird (it read bird.conf again): make sure that file is the applied one. */
  private afterBirdRestart(bird: BirdDaemon, pid: number): Promise<void> {
    return this.queue.run(async () => {
      if (this.current !== bird || !this.appliedArtifact.active) return;
      this.options.log.warn('bgp: bird restarted; applying the configuration again', { pid, restarts: bird.restarts });
      this.pendingConfirm = false;
      try {
        const outcome = await this.applier.apply(this.appliedArtifact.text);
        this.options.log.info('bgp: configuration applied after restart', { changed: outcome.changed });
      } catch (error) {
        this.options.log.error('bgp: re-apply after restart failed', { error: maskPasswords((error as Error).message) });
      }
    });
  }
}
