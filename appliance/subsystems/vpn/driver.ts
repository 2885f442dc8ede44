// The VPN subsystem: supervises Junction's own charon and keeps what it has
// loaded (connections, PSKs, private keys) equal to the rendering, over
// VICI only. Charon starts with the first peer and stops with the last; if
// it dies, the supervisor restarts it and everything is loaded again.
// Apply diffs by digest: an unchanged peer costs no VICI write; a peer whose
// IKE part is unchanged gets its children updated in place by charon.
// Secrets (PSKs, private keys) go to charon and nowhere else: not into
// actions, plans, logs or errors.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Config } from '../../model/schema.js';
import { VpnSection } from './schema.js';
import type { Problem } from '../../model/problems.js';
import type { Capabilities } from '../../platform/capabilities.js';
import { runChecked, type CommandRunner } from '../../platform/command-runner.js';
import type { Logger } from '../../platform/log.js';
import { ApplyFailed, type Driver } from '../../core/subsystem.js';
import { CharonProcess, type CharonProcessOptions } from './charon-process.js';
import { toPlain, ViciClient, ViciCommandError, ViciSection, type ViciPlain, type ViciSubscription } from './vici/index.js';
import { verifyVpn } from './verify.js';
import { describeVpn, renderVpn, VPN_ROUTE_PROTO, type VpnArtifact } from './render.js';

export interface VpnDriverOptions {
  runner: CommandRunner;
  /** charon's files go to <stateDir>/charon */
  stateDir: string;
  log: Logger;
  charonBinary?: string;
  /** IKE retransmission (see CharonSettings.retransmit) */
  retransmit?: { tries: number; timeoutS: number; base: number };
  /** extra CharonProcess options (tests) */
  charon?: Partial<CharonProcessOptions>;
}

export type VpnEventName = 'ike-updown' | 'child-updown' | 'ike-rekey' | 'child-rekey';
export const VPN_EVENTS: VpnEventName[] = ['ike-updown', 'child-updown', 'ike-rekey', 'child-rekey'];

/** What /v1/vpn/events streams: names, states and SPIs, never keys. */
export interface VpnEvent {
  event: VpnEventName;
  at: string;
  peer: string;
  tunnel?: string;
  up?: boolean;
  state?: string;
  spi_in?: string;
  spi_out?: string;
}

export interface ChildSaStatus {
  id: string;
  state: string;
  established_at?: string;
  spi_in?: string;
  spi_out?: string;
  /** joins the SA to its tunnel's policies: each tunnel has its own (see vpn/reqid.ts) */
  reqid?: number;
  encap: boolean;
  algorithms: string;
  bytes_in: number;
  bytes_out: number;
  packets_in: number;
  packets_out: number;
  rekey_in_s?: number;
  local_ts: string[];
  remote_ts: string[];
}

export interface TunnelStatus {
  name: string;
  state: 'up' | 'down';
  established_at?: string;
  last_rekey?: string;
  bytes_in: number;
  bytes_out: number;
  packets_in: number;
  packets_out: number;
  sas: ChildSaStatus[];
}

export interface PeerStatus {
  name: string;
  state: string;
  established_at?: string;
  last_rekey?: string;
  ike_version?: number;
  local?: string;
  remote?: string;
  local_id?: string;
  remote_id?: string;
  spi_initiator?: string;
  spi_responder?: string;
  algorithms?: string;
  nat?: boolean;
  tunnels: TunnelStatus[];
}

export interface VpnStatus {
  configured: boolean;
  dataplane: { dataplane: string; reason: string; tunnel_interface: string; zone: string } | null;
  charon: { running: boolean; pid?: number; restarts: number; version?: string; error?: string };
  peers: PeerStatus[];
}

/** Nothing configured: charon stopped, nothing loaded. The state before the first VPN commit. */
export function inactiveVpn(): VpnArtifact {
  return {
    active: false,
    dataplane: { dataplane: 'libipsec', reason: 'no peers' },
    tunnelInterface: 'ipsec0',
    zone: 'vpn',
    charon: { dataplane: 'libipsec', installRoutes: true },
    connections: [],
    secrets: [],
    keys: [],
    routes: [],
  };
}

export class VpnUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VpnUnavailable';
  }
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const fullDigest = (c: VpnArtifact['connections'][number]) => `${c.ikeDigest}:${Object.entries(c.childDigests).map(([k, v]) => `${k}=${v}`).join(',')}`;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number => (typeof v === 'string' && v !== '' ? Number(v) : 0);
const agoIso = (secondsAgo: unknown, now: number): string | undefined => (typeof secondsAgo === 'string' ? new Date(now - Number(secondsAgo) * 1000).toISOString() : undefined);

/** The CHILD_SAs of one IKE_SA from list-sas, each with its tunnel's name (list-sas keys them "<name>-<id>"). */
function childSas(ike: ViciPlain): Array<{ tunnel: string; sa: ViciPlain }> {
  return Object.entries((ike['child-sas'] as Record<string, ViciPlain> | undefined) ?? {}).map(([key, sa]) => ({ tunnel: str(sa.name) ?? key, sa }));
}

// ---- SAs a configuration change leaves behind ----
// load-conn and unload-conn change charon's configuration, not the SAs it
// already negotiated: charon closes the CHILD_SAs of tunnels with
// start_action=start itself (and starts them again), but a tunnel with
// trap or none would keep carrying traffic under its old selectors, or
// after it was removed. So the SAs a change makes outdated are noted before
// it and closed after it, by their unique ids (new SAs are never touched).

interface OutdatedSa { kind: 'ike' | 'child'; id: string; what: string }

type Connection = VpnArtifact['connections'][number];

/** How long tunnel events must settle before down always-on tunnels are initiated. */
const HEAL_DELAY_MS = 3_000;
const GONE_STATES = new Set(['DELETING', 'DELETED', 'DESTROYING']);
/** An IKE_SA or CHILD_SA that is not on its way out. */
const live = (sa: ViciPlain): boolean => !GONE_STATES.has(String(sa.state));
/** charon is at work on this IKE_SA: being set up, or an exchange under way or queued (e.g. the next CHILD_SA of many). */
const negotiating = (ike: ViciPlain): boolean =>
  ike.state === 'CONNECTING' || ike.state === 'CREATED' || ['tasks-queued', 'tasks-active'].some((k) => Array.isArray(ike[k]) && (ike[k] as unknown[]).length > 0);

/**
 * Configured tunnels with start_action start and no CHILD_SA in any live
 * state, on peers with no IKE_SA being negotiated and no exchange under
 * way or queued (charon is then working on them already).
 */
export async function downAlwaysOn(client: ViciClient, desired: VpnArtifact): Promise<Array<[string, string]>> {
  const sas = await client.listSas();
  const down: Array<[string, string]> = [];
  for (const c of desired.connections) {
    const mine = sas.filter((sa) => sa.name === c.name).map((sa) => sa.value);
    if (mine.some(negotiating)) continue;
    const present = new Set(mine.filter(live).flatMap((ike) => childSas(ike).filter(({ sa }) => live(sa)).map(({ tunnel }) => tunnel)));
    for (const tunnel of Object.keys(c.childDigests)) {
      if (startAction(c, tunnel) === 'start' && !present.has(tunnel)) down.push([c.name, tunnel]);
    }
  }
  return down;
}

/** A tunnel's start_action as it was loaded (connection body -> children -> tunnel). */
export function startAction(conn: Connection, tunnel: string): string | undefined {
  const section = (value: unknown) => (value instanceof ViciSection ? value : undefined);
  const children = section(conn.config.get('children'));
  return str(section(children?.get(tunnel))?.get('start_action'));
}

/** Tunnels added, changed or removed between two loads of a connection. */
function differingTunnels(before: Connection, after: Connection): string[] {
  return Object.keys({ ...before.childDigests, ...after.childDigests }).filter((t) => before.childDigests[t] !== after.childDigests[t]);
}

/** Tunnels whose SAs a load leaves outdated: changed or removed, except those charon restarts itself (start_action=start). */
function changedTunnels(before: Connection, after: Connection): Set<string> {
  return new Set(differingTunnels(before, after).filter((t) => t in before.childDigests && startAction(before, t) !== 'start'));
}

/** The peer's IKE_SAs (tunnels undefined: the whole peer changed or goes), or the CHILD_SAs of these tunnels. */
async function outdatedSas(client: ViciClient, peer: string, tunnels?: Set<string>): Promise<OutdatedSa[]> {
  const out: OutdatedSa[] = [];
  for (const sa of await client.listSas({ ike: peer })) {
    if (sa.name !== peer) continue;
    if (!tunnels) {
      const id = str(sa.value.uniqueid);
      if (id) out.push({ kind: 'ike', id, what: peer });
      continue;
    }
    for (const { tunnel, sa: child } of childSas(sa.value)) {
      const id = str(child.uniqueid);
      if (id && tunnels.has(tunnel)) out.push({ kind: 'child', id, what: `${peer}/${tunnel}` });
    }
  }
  return out;
}

/** Closes those of `outdated` that charon has not closed by itself. */
async function closeOutdated(client: ViciClient, peer: string, outdated: OutdatedSa[]): Promise<string[]> {
  if (!outdated.length) return [];
  const alive = new Set<string>();
  for (const sa of await client.listSas({ ike: peer })) {
    if (live(sa.value)) alive.add(`ike:${str(sa.value.uniqueid)}`);
    for (const { sa: child } of childSas(sa.value)) if (live(child)) alive.add(`child:${str(child.uniqueid)}`);
  }
  const actions: string[] = [];
  for (const sa of outdated) {
    if (!alive.has(`${sa.kind}:${sa.id}`)) continue;
    try {
      await client.terminate(sa.kind === 'ike' ? { ikeId: sa.id, timeoutMs: 5_000 } : { childId: sa.id, timeoutMs: 5_000 });
      actions.push(`close ${sa.kind === 'ike' ? 'IKE_SA' : 'CHILD_SA'} ${sa.what} #${sa.id} (negotiated under the old settings)`);
    } catch {
      // closed meanwhile (charon's own start_action handling raced us): nothing left to do
    }
  }
  return actions;
}

function algorithms(sa: ViciPlain): string {
  const parts = [
    sa['encr-alg'] ? `${str(sa['encr-alg'])}${sa['encr-keysize'] ? `-${str(sa['encr-keysize'])}` : ''}` : undefined,
    str(sa['integ-alg']),
    str(sa['prf-alg']),
    str(sa['dh-group']),
  ];
  return parts.filter(Boolean).join('/');
}

export class VpnDriver implements Driver<VpnArtifact> {
  readonly name = 'vpn';
  readonly schemaSection = { key: 'vpn', schema: VpnSection };
  private charon: CharonProcess | undefined;
  private charonKey: string | undefined;
  private client: ViciClient | undefined;
  private subscription: ViciSubscription | undefined;
  private healTimer: NodeJS.Timeout | undefined;
  /** the last artifact fully applied: what charon holds */
  private applied: VpnArtifact = inactiveVpn();
  /** what this charon has loaded, by digest (reset when charon starts) */
  private loaded = { conns: new Map<string, string>(), secrets: new Map<string, string>(), keys: new Map<string, { hash: string; id: string }>() };
  private queue: Promise<unknown> = Promise.resolve();
  private readonly emitter = new EventEmitter();
  private readonly lastRekey = new Map<string, string>();

  constructor(private readonly options: VpnDriverOptions) {
    this.emitter.setMaxListeners(0);
  }

  verify(config: Config, capabilities: Capabilities): Problem[] {
    return verifyVpn(config, capabilities);
  }

  render(config: Config, capabilities: Capabilities): VpnArtifact {
    return renderVpn(config, capabilities);
  }

  describe(artifact: VpnArtifact): string[] {
    return describeVpn(artifact);
  }

  async snapshot(): Promise<VpnArtifact> {
    return this.applied;
  }

  /** One apply, restart re-apply or shutdown at a time. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  get charonPid(): number | undefined {
    return this.charon?.pid;
  }

  get charonLogPath(): string {
    return path.join(this.options.stateDir, 'charon', 'charon.log');
  }

  async drift(desired: VpnArtifact): Promise<string[]> {
    if (!desired.active) return this.charon?.pid ? ['charon runs but no peer is configured'] : [];
    if (!this.charon?.pid) return ['charon is not running while peers exist'];
    if (this.charonKey !== JSON.stringify(desired.charon)) return [`charon runs with other settings than ${JSON.stringify(desired.charon)}`];
    const drift: string[] = [];
    let client: ViciClient;
    try {
      client = await this.connect();
    } catch (error) {
      return [`charon does not answer on VICI: ${(error as Error).message}`];
    }
    const conns = new Set(await client.getConns());
    for (const c of desired.connections) {
      if (!conns.has(c.name)) drift.push(`connection ${c.name} is not loaded`);
      else if (this.loaded.conns.get(c.name) !== fullDigest(c)) drift.push(`connection ${c.name} differs from the configuration`);
    }
    const wanted = new Set(desired.connections.map((c) => c.name));
    for (const name of conns) if (!wanted.has(name)) drift.push(`connection ${name} is loaded but not configured`);
    if (!drift.length) {
      // children as charon reports them
      for (const entry of await client.listConns()) {
        const c = desired.connections.find((x) => x.name === entry.name);
        if (!c) continue;
        const have = Object.keys((entry.value.children as ViciPlain | undefined) ?? {}).sort();
        const want = Object.keys(c.childDigests).sort();
        if (have.join(',') !== want.join(',')) drift.push(`connection ${c.name} has tunnels [${have.join(', ')}], configured [${want.join(', ')}]`);
      }
    }
    const shared = new Set(await client.getShared());
    for (const s of desired.secrets) if (!shared.has(s.id)) drift.push(`shared secret ${s.id} is not loaded`);
    for (const id of shared) if (!desired.secrets.some((s) => s.id === id)) drift.push(`shared secret ${id} is loaded but not configured`);
    if (desired.charon.dataplane === 'kernel') drift.push(...(await this.kernelDrift(desired)));
    if (!drift.length) for (const [peer, tunnel] of await downAlwaysOn(client, desired)) drift.push(`tunnel ${peer}/${tunnel} (start_action start) is down`);
    return drift;
  }

  apply(desired: VpnArtifact): Promise<string[]> {
    return this.exclusive(() => this.applyNow(desired));
  }

  private async applyNow(desired: VpnArtifact): Promise<string[]> {
    const actions: string[] = [];
    if (!desired.active) {
      // nothing configured before or now: touch nothing (no commands at all)
      if (!this.charon && !this.applied.active) {
        this.applied = desired;
        return actions;
      }
      if (this.charon) {
        await this.stopCharon();
        actions.push('stop charon (no peers configured)');
      }
      actions.push(...(await this.applyKernelPieces(desired)));
      this.applied = desired;
      return actions;
    }
    const key = JSON.stringify(desired.charon);
    if (this.charon && (this.charonKey !== key || !this.charon.pid)) {
      const why = this.charonKey !== key ? `settings changed (data plane ${desired.charon.dataplane})` : 'it was not running';
      await this.stopCharon();
      actions.push(`stop charon: ${why}`);
    }
    if (!this.charon) {
      await this.startCharon(desired);
      actions.push(`start charon (${desired.charon.dataplane})`);
    }
    actions.push(...(await this.applyKernelPieces(desired)));
    const loaded = await this.load(desired);
    actions.push(...loaded.actions);
    this.applied = desired;
    // charon acts on start_action itself when a connection is (re)loaded; otherwise bring up what is down
    if (!loaded.connections) actions.push(...(await this.startDownTunnels(desired)));
    return actions;
  }

  /**
   * Always-on tunnels (start_action start) that have no CHILD_SA: a peer
   * that came back and initiated with INITIAL_CONTACT makes charon drop the
   * old IKE_SA with all its tunnels, but brings up only what the peer asked
   * for; a peer that was unreachable makes charon give up after its tries.
   */
  private async startDownTunnels(desired: VpnArtifact): Promise<string[]> {
    if (!desired.active || !this.charon?.pid) return [];
    const client = await this.connect();
    const actions: string[] = [];
    for (const [peer, tunnel] of await downAlwaysOn(client, desired)) {
      try {
        await client.initiate({ ike: peer, child: tunnel, timeoutMs: -1 });
        actions.push(`initiate ${peer}/${tunnel} (start_action start, was down)`);
      } catch (error) {
        this.options.log.warn('vpn: could not initiate a tunnel that is down', { peer, tunnel, error: (error as Error).message });
      }
    }
    return actions;
  }

  /** After tunnel events settle, bring up always-on tunnels the events left down (instead of waiting for the next reconcile). */
  private scheduleHeal(): void {
    if (this.healTimer) clearTimeout(this.healTimer);
    this.healTimer = setTimeout(() => {
      this.healTimer = undefined;
      void this.exclusive(async () => {
        const actions = await this.startDownTunnels(this.applied);
        if (actions.length) this.options.log.info('vpn: tunnels were down after peer events; initiated', { actions });
      }).catch((error: Error) => this.options.log.warn('vpn: heal after events failed', { error: error.message }));
    }, HEAL_DELAY_MS);
    this.healTimer.unref();
  }

  /** Loads what differs from what this charon holds; unloads what is no longer configured. `connections`: a connection was (un)loaded. */
  private async load(desired: VpnArtifact): Promise<{ actions: string[]; connections: boolean }> {
    const actions: string[] = [];
    let connections = false;
    const client = await this.connect();
    const step = async (what: string, pathInDoc: string, run: () => Promise<void>) => {
      try {
        await run();
        actions.push(what);
      } catch (error) {
        const reason = error instanceof ViciCommandError ? error.errmsg || 'refused' : (error as Error).message;
        throw new ApplyFailed(this.name, `${what}: charon: ${reason}`, pathInDoc);
      }
    };
    for (const k of desired.keys) {
      const hash = sha(k.data);
      if (this.loaded.keys.get(k.name)?.hash === hash) continue;
      const replaced = this.loaded.keys.get(k.name);
      await step(`load-key ${k.name}`, k.path, async () => {
        const id = await client.loadKey({ type: 'ANY', data: k.data });
        this.loaded.keys.set(k.name, { hash, id });
      });
      if (replaced && replaced.id !== this.loaded.keys.get(k.name)?.id) {
        await step(`unload-key ${k.name} (replaced)`, k.path, () => client.unloadKey(replaced.id));
      }
    }
    for (const s of desired.secrets) {
      const hash = sha(`${s.data}\n${s.owners.join('\n')}`);
      if (this.loaded.secrets.get(s.id) === hash) continue;
      await step(`load-shared ${s.id} (owners ${s.owners.join(', ')})`, s.path, async () => {
        await client.loadShared({ id: s.id, type: s.type, data: s.data, owners: s.owners });
        this.loaded.secrets.set(s.id, hash);
      });
    }
    const previous = new Map(this.applied.connections.map((c) => [c.name, c]));
    for (const c of desired.connections) {
      const digest = fullDigest(c);
      if (this.loaded.conns.get(c.name) === digest) continue;
      const before = this.loaded.conns.has(c.name) ? previous.get(c.name) : undefined;
      const inPlace = before?.ikeDigest === c.ikeDigest;
      const detail = !before ? '' : inPlace ? ` (tunnels updated in place: ${differingTunnels(before, c).join(', ')})` : ' (IKE settings changed: replaced)';
      // SAs negotiated under the old settings; charon itself only closes those of start_action=start tunnels
      const outdated = before ? await outdatedSas(client, c.name, inPlace ? changedTunnels(before, c) : undefined) : [];
      await step(`load-conn ${c.name}${detail}`, c.path, async () => {
        await client.loadConn(c.name, c.config);
        this.loaded.conns.set(c.name, digest);
      });
      connections = true;
      actions.push(...(await closeOutdated(client, c.name, outdated)));
    }
    const wanted = new Set(desired.connections.map((c) => c.name));
    const present = new Set([...this.loaded.conns.keys(), ...(await client.getConns())]);
    for (const name of [...present].sort()) {
      if (wanted.has(name)) continue;
      const outdated = await outdatedSas(client, name);
      await step(`unload-conn ${name}`, '/vpn/peers', async () => {
        await client.unloadConn(name);
        this.loaded.conns.delete(name);
      });
      connections = true;
      actions.push(...(await closeOutdated(client, name, outdated)));
    }
    const wantedSecrets = new Set(desired.secrets.map((s) => s.id));
    const presentSecrets = new Set([...this.loaded.secrets.keys(), ...(await client.getShared())]);
    for (const id of [...presentSecrets].sort()) {
      if (wantedSecrets.has(id)) continue;
      await step(`unload-shared ${id}`, '/vpn/peers', async () => {
        await client.unloadShared(id);
        this.loaded.secrets.delete(id);
      });
    }
    const wantedKeys = new Set(desired.keys.map((k) => k.name));
    for (const [name, key] of [...this.loaded.keys]) {
      if (wantedKeys.has(name)) continue;
      await step(`unload-key ${name}`, '/vpn/certificates', async () => {
        await client.unloadKey(key.id);
        this.loaded.keys.delete(name);
      });
    }
    return { actions, connections };
  }

  private charonOptions(desired: VpnArtifact): CharonProcessOptions {
    return {
      stateDir: path.join(this.options.stateDir, 'charon'),
      dataplane: desired.charon.dataplane,
      installRoutes: desired.charon.installRoutes,
      routingTable: desired.charon.routingTable,
      retransmit: this.options.retransmit ?? { tries: 3, timeoutS: 2, base: 1.5 },
      charonBinary: this.options.charonBinary,
      restartBackoff: { initialMs: 500, maxMs: 10_000 },
      ...this.options.charon,
    };
  }

  private async startCharon(desired: VpnArtifact): Promise<void> {
    const charon = new CharonProcess(this.charonOptions(desired));
    try {
      await charon.start();
    } catch (error) {
      await charon.stop().catch(() => undefined);
      throw new ApplyFailed(this.name, `charon did not start: ${(error as Error).message}`, '/vpn');
    }
    this.charon = charon;
    this.charonKey = JSON.stringify(desired.charon);
    this.resetLoaded();
    charon.onRestart(() => this.afterCharonRestart(charon));
    this.options.log.info('vpn: charon started', { pid: charon.pid, dataplane: desired.charon.dataplane, log: charon.logPath });
    await this.subscribe().catch((error: Error) => this.options.log.warn('vpn: event subscription failed', { error: error.message }));
  }

  private async stopCharon(): Promise<void> {
    if (this.healTimer) clearTimeout(this.healTimer);
    this.healTimer = undefined;
    this.subscription?.close();
    this.subscription = undefined;
    this.client?.close();
    this.client = undefined;
    const charon = this.charon;
    this.charon = undefined;
    this.charonKey = undefined;
    this.resetLoaded();
    if (charon) {
      await charon.stop();
      this.options.log.info('vpn: charon stopped');
    }
  }

  private resetLoaded(): void {
    this.loaded = { conns: new Map(), secrets: new Map(), keys: new Map() };
  }

  /** The supervisor restarted charon: it lost everything, so load it all again. */
  private afterCharonRestart(charon: CharonProcess): Promise<void> {
    return this.exclusive(async () => {
      if (this.charon !== charon) return;
      this.options.log.warn('vpn: charon restarted; loading the configuration again', { pid: charon.pid, restarts: charon.restartCount });
      this.subscription?.close();
      this.subscription = undefined;
      this.client?.close();
      this.client = undefined;
      this.resetLoaded();
      const { actions } = await this.load(this.applied);
      await this.subscribe().catch(() => undefined);
      this.options.log.info('vpn: configuration loaded after restart', { actions: actions.length });
    });
  }

  private async connect(): Promise<ViciClient> {
    if (this.client && !this.client.error) return this.client;
    this.client?.close();
    if (!this.charon?.pid) throw new VpnUnavailable('charon is not running');
    this.client = await ViciClient.connect(this.charon.socketPath);
    return this.client;
  }

  // ---- events ----

  private async subscribe(): Promise<void> {
    const client = await this.connect();
    this.subscription?.close();
    this.subscription = await client.subscribe(VPN_EVENTS, (name, message) => {
      for (const event of toVpnEvents(name as VpnEventName, message)) {
        if (event.event === 'ike-rekey') this.lastRekey.set(event.peer, event.at);
        if (event.event === 'child-rekey' && event.tunnel) this.lastRekey.set(`${event.peer}/${event.tunnel}`, event.at);
        // every up/down event restarts the wait, so many tunnels coming up one by one are not interrupted
        if (event.event === 'ike-updown' || event.event === 'child-updown') this.scheduleHeal();
        this.emitter.emit('event', event);
      }
    });
  }

  /** Listens to tunnel events; returns the function that stops listening. */
  onEvent(listener: (event: VpnEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  // ---- status and control ----

  async status(): Promise<VpnStatus> {
    const artifact = this.applied;
    const charon = this.charon;
    const out: VpnStatus = {
      configured: artifact.active,
      dataplane: artifact.active ? { ...artifact.dataplane, tunnel_interface: artifact.tunnelInterface, zone: artifact.zone } : null,
      charon: { running: !!charon?.pid, ...(charon?.pid ? { pid: charon.pid } : {}), restarts: charon?.restartCount ?? 0 },
      peers: [],
    };
    let sas: Array<{ name: string; value: ViciPlain }> = [];
    if (charon?.pid) {
      try {
        const client = await this.connect();
        out.charon.version = (await client.version()).version;
        // blocking: with noblock, an IKE_SA busy at that moment (e.g. just initiated) would be left out
        sas = await client.listSas();
      } catch (error) {
        out.charon.error = (error as Error).message;
      }
    }
    const now = Date.now();
    for (const c of artifact.connections) {
      const mine = sas.filter((s) => s.name === c.name).map((s) => s.value);
      const ike = mine.find((s) => s.state === 'ESTABLISHED') ?? mine[0];
      const peer: PeerStatus = { name: c.name, state: ike ? String(ike.state) : 'DOWN', tunnels: [] };
      if (ike) {
        Object.assign(peer, {
          established_at: agoIso(ike.established, now),
          ike_version: num(ike.version),
          local: `${str(ike['local-host'])}[${str(ike['local-port'])}]`,
          remote: `${str(ike['remote-host'])}[${str(ike['remote-port'])}]`,
          local_id: str(ike['local-id']),
          remote_id: str(ike['remote-id']),
          spi_initiator: str(ike['initiator-spi']),
          spi_responder: str(ike['responder-spi']),
          algorithms: algorithms(ike),
          nat: ike['nat-any'] === 'yes',
        });
      }
      const lastIkeRekey = this.lastRekey.get(c.name);
      if (lastIkeRekey) peer.last_rekey = lastIkeRekey;
      for (const tunnel of Object.keys(c.childDigests)) {
        const children = mine.flatMap(childSas).filter((child) => child.tunnel === tunnel);
        const sasOfTunnel: ChildSaStatus[] = children.map(({ sa: v }) => ({
          id: str(v.uniqueid) ?? '',
          state: str(v.state) ?? 'UNKNOWN',
          established_at: agoIso(v['install-time'], now),
          spi_in: str(v['spi-in']),
          spi_out: str(v['spi-out']),
          ...(v.reqid ? { reqid: num(v.reqid) } : {}),
          encap: v.encap === 'yes',
          algorithms: algorithms(v),
          bytes_in: num(v['bytes-in']),
          bytes_out: num(v['bytes-out']),
          packets_in: num(v['packets-in']),
          packets_out: num(v['packets-out']),
          ...(v['rekey-time'] ? { rekey_in_s: num(v['rekey-time']) } : {}),
          local_ts: (v['local-ts'] as string[] | undefined) ?? [],
          remote_ts: (v['remote-ts'] as string[] | undefined) ?? [],
        }));
        const installed = sasOfTunnel.filter((s) => s.state === 'INSTALLED');
        const sum = (k: 'bytes_in' | 'bytes_out' | 'packets_in' | 'packets_out') => sasOfTunnel.reduce((a, s) => a + s[k], 0);
        const oldest = installed.map((s) => s.established_at).filter((x): x is string => !!x).sort()[0];
        peer.tunnels.push({
          name: tunnel,
          state: installed.length ? 'up' : 'down',
          ...(oldest ? { established_at: oldest } : {}),
          ...(this.lastRekey.get(`${c.name}/${tunnel}`) ? { last_rekey: this.lastRekey.get(`${c.name}/${tunnel}`) } : {}),
          bytes_in: sum('bytes_in'),
          bytes_out: sum('bytes_out'),
          packets_in: sum('packets_in'),
          packets_out: sum('packets_out'),
          sas: sasOfTunnel,
        });
      }
      out.peers.push(peer);
    }
    return out;
  }

  private requireTunnel(peer: string, tunnel: string): void {
    const c = this.applied.connections.find((x) => x.name === peer);
    if (!c) throw new RangeError(`no peer "${peer}" is running`);
    if (!(tunnel in c.childDigests)) throw new RangeError(`peer "${peer}" has no running tunnel "${tunnel}"`);
    if (!this.charon?.pid) throw new VpnUnavailable('charon is not running');
  }

  /** Brings a tunnel (and its IKE SA if needed) up and resolves once it is; false when it was up already (a second CHILD_SA for the same selectors is never asked for). */
  async initiate(peer: string, tunnel: string, timeoutMs = 15_000): Promise<boolean> {
    this.requireTunnel(peer, tunnel);
    const client = await this.connect();
    const up = (await client.listSas({ ike: peer })).some((sa) => sa.name === peer && sa.value.state === 'ESTABLISHED' &&
      childSas(sa.value).some((child) => child.tunnel === tunnel && child.sa.state === 'INSTALLED'));
    if (up) return false;
    await client.initiate({ ike: peer, child: tunnel, timeoutMs });
    return true;
  }

  /** Closes every CHILD_SA of a tunnel (its IKE SA stays). Returns how many were closed. */
  async terminate(peer: string, tunnel: string, timeoutMs = 10_000): Promise<number> {
    this.requireTunnel(peer, tunnel);
    const client = await this.connect();
    const sas = await client.listSas({ ike: peer, noblock: true });
    const ids = sas.flatMap((s) => childSas(s.value))
      .filter((child) => child.tunnel === tunnel)
      .map((child) => str(child.sa.uniqueid))
      .filter((id): id is string => !!id);
    for (const id of ids) await client.terminate({ childId: id, timeoutMs });
    return ids.length;
  }

  /** Stops charon and the event stream (appliance shutdown). */
  close(): Promise<void> {
    return this.exclusive(() => this.stopCharon());
  }

  // ---- kernel data plane: xfrm0 and routes through it ----
  // Only reached where the kernel has XFRM ESP (verify refuses a forced
  // kernel data plane otherwise). Not exercised on machines without XFRM.

  private async kernelDrift(desired: VpnArtifact): Promise<string[]> {
    const drift: string[] = [];
    const link = await this.options.runner.run('ip', ['-j', 'link', 'show', 'dev', desired.xfrmInterface?.name ?? 'xfrm0']);
    if (link.code !== 0) drift.push(`${desired.xfrmInterface?.name ?? 'xfrm0'} is missing`);
    const have = await this.vpnRoutes();
    for (const r of desired.routes) if (!have.includes(r.destination)) drift.push(`route ${r.destination} dev ${r.dev} is missing`);
    return drift;
  }

  private async vpnRoutes(): Promise<string[]> {
    const out = await this.options.runner.run('ip', ['-j', 'route', 'show', 'table', 'main', 'proto', VPN_ROUTE_PROTO]);
    if (out.code !== 0 || !out.stdout.trim()) return [];
    return (JSON.parse(out.stdout) as Array<{ dst: string }>).map((r) => r.dst);
  }

  private async applyKernelPieces(desired: VpnArtifact): Promise<string[]> {
    const actions: string[] = [];
    const run = async (args: string[]) => {
      await runChecked(this.options.runner, 'ip', args);
      actions.push(`ip ${args.join(' ')}`);
    };
    const xfrm = desired.xfrmInterface;
    if (xfrm) {
      const link = await this.options.runner.run('ip', ['-j', '-d', 'link', 'show', 'dev', xfrm.name]);
      if (link.code !== 0) {
        await run(['link', 'add', xfrm.name, 'type', 'xfrm', 'dev', xfrm.underlying, 'if_id', String(xfrm.ifId)]);
        await run(['link', 'set', xfrm.name, 'up']);
      }
    }
    const have = await this.vpnRoutes();
    const want = new Set(desired.routes.map((r) => r.destination));
    for (const r of desired.routes) if (!have.includes(r.destination)) await run(['route', 'replace', r.destination, 'dev', r.dev, 'proto', VPN_ROUTE_PROTO]);
    for (const dst of have) if (!want.has(dst)) await run(['route', 'del', dst, 'proto', VPN_ROUTE_PROTO]);
    if (!xfrm) {
      const link = await this.options.runner.run('ip', ['-j', '-d', 'link', 'show', 'type', 'xfrm']);
      const links = link.code === 0 && link.stdout.trim() ? (JSON.parse(link.stdout) as Array<{ ifname: string }>) : [];
      for (const l of links) if (l.ifname === 'xfrm0') await run(['link', 'del', l.ifname]);
    }
    return actions;
  }
}

/** Turns one VICI event into tunnel events (one per IKE SA, or per CHILD_SA for child events). */
export function toVpnEvents(name: VpnEventName, message: ViciSection, at = new Date().toISOString()): VpnEvent[] {
  const plain = toPlain(message);
  const up = plain.up === 'yes';
  const out: VpnEvent[] = [];
  for (const [peer, value] of Object.entries(plain)) {
    if (peer === 'up' || typeof value !== 'object' || Array.isArray(value)) continue;
    const ike = value as ViciPlain;
    if (name === 'ike-updown' || name === 'ike-rekey') {
      const sa = (name === 'ike-rekey' ? ((ike.new as ViciPlain | undefined) ?? ike) : ike);
      out.push({ event: name, at, peer, ...(name === 'ike-updown' ? { up } : {}), ...(str(sa.state) ? { state: str(sa.state) } : {}) });
      continue;
    }
    for (const [key, child] of Object.entries((ike['child-sas'] as Record<string, ViciPlain> | undefined) ?? {})) {
      const sa = name === 'child-rekey' ? ((child.new as ViciPlain | undefined) ?? child) : child;
      out.push({
        event: name,
        at,
        peer,
        tunnel: str(sa.name) ?? key,
        ...(name === 'child-updown' ? { up } : {}),
        ...(str(sa.state) ? { state: str(sa.state) } : {}),
        ...(str(sa['spi-in']) ? { spi_in: str(sa['spi-in']) } : {}),
        ...(str(sa['spi-out']) ? { spi_out: str(sa['spi-out']) } : {}),
      });
    }
  }
  return out;
}
