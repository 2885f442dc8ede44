// Charon's lifecycle for the VPN subsystem: one supervised charon
// (charon-process.ts) started with the settings the artifact asks for,
// stopped with the last peer, and the VICI connection to it. Whoever starts
// it says what to do after the supervisor restarts it (charon then has
// nothing loaded). The configuration, state and control sides all reach
// charon through this one object.
import path from 'node:path';
import type { Logger } from '../../platform/log.js';
import { ApplyFailed } from '../../core/subsystem.js';
import { ControlFailed } from '../../core/control-failed.js';
import { CharonProcess, type CharonProcessOptions } from './charon-process.js';
import type { DaemonOrigin } from '../../platform/supervisor.js';
import { ViciClient } from './vici/index.js';
import type { VpnArtifact } from './render.js';

/** What the subsystem needs of a supervised charon (CharonProcess). */
export type CharonDaemon = Pick<CharonProcess, 'pid' | 'restartCount' | 'origin' | 'adopt' | 'start' | 'stop' | 'detach' | 'onRestart' | 'socketPath' | 'logPath'>;

export type CharonSettings = VpnArtifact['charon'];

export interface CharonOptions {
  /** charon's files go to <stateDir>/charon */
  stateDir: string;
  log: Logger;
  charonBinary?: string;
  /** IKE retransmission (see CharonSettings.retransmit) */
  retransmit?: { tries: number; timeoutS: number; base: number };
  /** extra CharonProcess options (tests) */
  charon?: Partial<CharonProcessOptions>;
  /** seams for unit tests: how charon is started, and how its VICI socket is reached */
  launchCharon?: (options: CharonProcessOptions) => CharonDaemon;
  connectVici?: (socketPath: string) => Promise<ViciClient>;
}

export class Charon {
  private daemon: CharonDaemon | undefined;
  /** the settings the running charon was started with */
  private settings: string | undefined;
  private client: ViciClient | undefined;

  constructor(private readonly options: CharonOptions) {}

  /** charon's pid while it runs (undefined while stopped or between a crash and its restart). */
  get pid(): number | undefined {
    return this.daemon?.pid;
  }

  get restarts(): number {
    return this.daemon?.restartCount ?? 0;
  }

  /** A charon is supervised (it may be between a crash and its restart). */
  get started(): boolean {
    return this.daemon !== undefined;
  }

  runsWith(settings: CharonSettings): boolean {
    return this.settings === JSON.stringify(settings);
  }

  /** started, adopted from an earlier Junction, or started in place of one that could not be (and why) */
  get origin(): DaemonOrigin | undefined {
    return this.daemon?.origin;
  }

  /**
   * Adopts the charon an earlier Junction left running with these settings,
   * or starts one; resolves whether it was adopted (its SAs and loaded
   * configuration are then intact). `afterRestart` runs (and is awaited by
   * the supervisor) each time it had to restart charon.
   */
  async start(settings: CharonSettings, afterRestart: (daemon: CharonDaemon) => Promise<void>): Promise<{ adopted: boolean }> {
    const launch = this.options.launchCharon ?? ((o: CharonProcessOptions) => new CharonProcess(o));
    const daemon = launch(this.processOptions(settings));
    let adopted = false;
    try {
      adopted = await daemon.adopt();
      if (!adopted) await daemon.start();
    } catch (error) {
      await daemon.stop().catch(() => undefined);
      throw new ApplyFailed('vpn', `charon did not start: ${(error as Error).message}`, '/vpn');
    }
    this.daemon = daemon;
    this.settings = JSON.stringify(settings);
    daemon.onRestart(() => afterRestart(daemon));
    const origin = daemon.origin;
    this.options.log.info(adopted ? 'vpn: adopted the charon an earlier Junction left running' : 'vpn: charon started', {
      pid: daemon.pid, dataplane: settings.dataplane, log: daemon.logPath, ...(origin?.reason ? { replaced: origin.reason } : {}),
    });
    return { adopted };
  }

  /** Ends supervision and leaves charon, its configuration and its SAs as they are (Junction's clean stop). */
  detach(): void {
    this.disconnect();
    const daemon = this.daemon;
    this.daemon = undefined;
    this.settings = undefined;
    if (daemon) {
      const pid = daemon.pid;
      daemon.detach();
      this.options.log.info('vpn: charon left running with its SAs', { pid });
    }
  }

  async stop(): Promise<void> {
    this.disconnect();
    const daemon = this.daemon;
    this.daemon = undefined;
    this.settings = undefined;
    if (daemon) {
      await daemon.stop();
      this.options.log.info('vpn: charon stopped');
    }
  }

  /** This is the charon now running (not one stopped since). */
  isCurrent(daemon: CharonDaemon): boolean {
    return this.daemon === daemon;
  }

  /** The VICI connection, opened again if it broke. */
  async connect(): Promise<ViciClient> {
    if (this.client && !this.client.error) return this.client;
    this.client?.close();
    this.client = undefined;
    if (!this.daemon?.pid) throw new ControlFailed(409, 'vpn_unavailable', 'charon is not running', '/vpn');
    this.client = await (this.options.connectVici ?? ((socketPath: string) => ViciClient.connect(socketPath)))(this.daemon.socketPath);
    return this.client;
  }

  /** Drops the VICI connection (charon restarted: the next connect() opens a new one). */
  disconnect(): void {
    this.client?.close();
    this.client = undefined;
  }

  private processOptions(settings: CharonSettings): CharonProcessOptions {
    return {
      stateDir: path.join(this.options.stateDir, 'charon'),
      dataplane: settings.dataplane,
      installRoutes: settings.installRoutes,
      routingTable: settings.routingTable,
      retransmit: this.options.retransmit ?? { tries: 3, timeoutS: 2, base: 1.5 },
      charonBinary: this.options.charonBinary,
      // charon carries the ESP traffic on libipsec: its first restart after a crash is immediate-ish, later ones back off
      restartBackoff: { initialMs: 100, maxMs: 10_000 },
      ...this.options.charon,
    };
  }
}
