// The configuration side of the VPN subsystem: keeps what charon has loaded
// (connections, PSKs, private keys) equal to the rendering, over VICI only.
// Charon starts with the first peer and stops with the last; if it dies,
// the supervisor restarts it and everything is loaded again. It outlives
// Junction: a new Junction adopts it with the record of what was loaded
// (loaded-record.ts), so a restart of Junction loads nothing and touches no SA.
//
// Apply diffs against what this charon holds: an unchanged peer costs no
// VICI write; a peer whose IKE part is unchanged gets its children updated
// in place. "What charon holds" is both Junction's record of what it loaded
// (digests: the only view of keys list-conns does not report, such as
// proposals) and charon's own report (list-conns content, get-shared and
// get-keys ids), so a connection changed or a secret unloaded behind
// Junction's back shows as drift and is loaded again. A secret's value
// cannot be read back from charon; a secret replaced by hand under the same
// id is not seen. Secrets go to charon and nowhere else: not into actions,
// plans, logs or errors.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { CommandRunner } from '../../platform/command-runner.js';
import type { Logger } from '../../platform/log.js';
import { SerialQueue } from '../../platform/serial-queue.js';
import { ApplyFailed } from '../../core/subsystem.js';
import { ViciCommandError, type ViciClient } from './vici/index.js';
import { Charon, type CharonDaemon, type CharonOptions } from './charon.js';
import { applyKernelPath, kernelPathDrift } from './kernel-path.js';
import { contentDifferences, expectedContent, loadedContent } from './loaded-conns.js';
import { inactiveVpnArtifact, type VpnArtifact } from './render.js';
import { changedTunnels, closeOutdated, differingTunnels, downAlwaysOn, outdatedSas, TunnelHealer } from './sa-hygiene.js';
import { VpnEvents } from './status.js';
import { LivenessProbe } from './liveness-probe.js';
import { emptyLoaded, forgetLoaded, restoreLoaded, saveLoaded } from './loaded-record.js';

export interface VpnConfigurationOptions extends CharonOptions {
  runner: CommandRunner;
}

type Connection = VpnArtifact['connections'][number];

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const fullDigest = (c: Connection) => `${c.ikeDigest}:${Object.entries(c.childDigests).map(([k, v]) => `${k}=${v}`).join(',')}`;

/** Per loaded connection, how charon's report differs from the rendering (empty: equal). */
async function loadedDifferences(client: ViciClient, desired: VpnArtifact): Promise<Map<string, string[]>> {
  const loaded = new Map((await client.listConns()).map((entry) => [entry.name, entry.value]));
  const out = new Map<string, string[]>();
  for (const c of desired.connections) {
    const entry = loaded.get(c.name);
    if (!entry) continue;
    const expected = expectedContent(c);
    out.set(c.name, contentDifferences(expected, loadedContent(entry, expected)));
  }
  return out;
}

export class VpnConfiguration {
  readonly charon: Charon;
  readonly events: VpnEvents;
  readonly healer: TunnelHealer;
  /** rekeys the IKE_SA of a stalled tunnel (liveness-probe.ts) */
  readonly probe: LivenessProbe;
  private appliedArtifact: VpnArtifact = inactiveVpnArtifact();
  /** what this charon has loaded, by digest (reset when charon starts) */
  private loaded = emptyLoaded();
  private readonly queue = new SerialQueue();
  /** the loaded record for the next Junction (loaded-record.ts) */
  private readonly recordPath: string;

  constructor(private readonly options: VpnConfigurationOptions) {
    this.charon = new Charon(options);
    this.recordPath = path.join(options.stateDir, 'charon', 'loaded.json');
    this.healer = new TunnelHealer(this.charon, this.queue, () => this.appliedArtifact, options.log);
    this.probe = new LivenessProbe(this.charon, () => this.appliedArtifact, options.log);
    this.events = new VpnEvents(() => this.healer.schedule(), path.join(options.stateDir, 'vpn-tunnel-counters.json'));
  }

  /** The last artifact fully applied: what charon holds. */
  get applied(): VpnArtifact {
    return this.appliedArtifact;
  }

  async snapshot(): Promise<VpnArtifact> {
    return this.appliedArtifact;
  }

  async drift(desired: VpnArtifact): Promise<string[]> {
    if (!desired.active) return [...(this.charon.pid ? ['charon runs but no peer is configured'] : []), ...(desired.failClosedRoutes.length ? await kernelPathDrift(this.options.runner, desired) : [])];
    if (!this.charon.pid) return ['charon is not running while peers exist'];
    if (!this.charon.runsWith(desired.charon)) return [`charon runs with other settings than ${JSON.stringify(desired.charon)}`];
    let client: ViciClient;
    try {
      client = await this.charon.connect();
    } catch (error) {
      return [`charon does not answer on VICI: ${(error as Error).message}`];
    }
    const drift: string[] = [];
    const conns = new Set(await client.getConns());
    const differences = await loadedDifferences(client, desired);
    for (const c of desired.connections) {
      if (!conns.has(c.name)) drift.push(`connection ${c.name} is not loaded`);
      else if (differences.get(c.name)?.length) drift.push(...differences.get(c.name)!.map((d) => `connection ${c.name}: ${d}`));
      else if (this.loaded.conns.get(c.name) !== fullDigest(c)) drift.push(`connection ${c.name} was loaded with other settings than configured (in keys list-conns does not show: proposals, start_action, reqid, if_id, encap, mobike)`);
    }
    const wanted = new Set(desired.connections.map((c) => c.name));
    for (const name of conns) if (!wanted.has(name)) drift.push(`connection ${name} is loaded but not configured`);
    const shared = new Set(await client.getShared());
    for (const s of desired.secrets) {
      if (!shared.has(s.id)) drift.push(`shared secret ${s.id} is not loaded`);
      else if (this.loaded.secrets.get(s.id) !== this.secretHash(s)) drift.push(`shared secret ${s.id}: the loaded value or owners differ from the configuration`);
    }
    for (const id of shared) if (!desired.secrets.some((s) => s.id === id)) drift.push(`shared secret ${id} is loaded but not configured`);
    const keys = new Set(await client.getKeys());
    for (const k of desired.keys) {
      const mine = this.loaded.keys.get(k.name);
      if (!mine || mine.hash !== sha(k.data) || !keys.has(mine.id)) drift.push(`private key for certificate ${k.name} is not loaded`);
    }
    drift.push(...(await kernelPathDrift(this.options.runner, desired)));
    if (!drift.length) for (const [peer, tunnel] of await downAlwaysOn(client, desired)) drift.push(`tunnel ${peer}/${tunnel} (start_action start) is down`);
    return drift;
  }

  apply(desired: VpnArtifact): Promise<string[]> {
    return this.queue.run(() => this.applyNow(desired));
  }

  /** Stops charon and the event stream (a full stop: `junction down`, `serve --stop-daemons`). */
  close(): Promise<void> {
    return this.queue.run(() => this.stopCharon());
  }

  /** Junction's clean stop: leaves charon, what it has loaded and its SAs for the next Junction to adopt. */
  detach(): Promise<void> {
    return this.queue.run(async () => {
      this.healer.cancel();
      this.probe.stop();
      this.events.close();
      this.charon.detach();
    });
  }

  private secretHash(s: VpnArtifact['secrets'][number]): string {
    return sha(`${s.data}\n${s.owners.join('\n')}`);
  }

  private async applyNow(desired: VpnArtifact): Promise<string[]> {
    const actions: string[] = [];
    if (!desired.active) {
      // nothing configured before or now: touch nothing (no commands at all)
      if (!this.charon.started && !this.appliedArtifact.active && !desired.failClosedRoutes.length && !this.appliedArtifact.failClosedRoutes.length) {
        this.appliedArtifact = desired;
        return actions;
      }
      if (this.charon.started) {
        await this.stopCharon();
        actions.push('stop charon (no peers configured)');
      }
      actions.push(...(await applyKernelPath(this.options.runner, desired)));
      this.appliedArtifact = desired;
      return actions;
    }
    if (this.charon.started && (!this.charon.runsWith(desired.charon) || !this.charon.pid)) {
      const why = !this.charon.runsWith(desired.charon) ? `settings changed (data plane ${desired.charon.dataplane})` : 'it was not running';
      await this.stopCharon();
      actions.push(`stop charon: ${why}`);
    }
    if (!this.charon.started && !(await this.startCharon(desired))) actions.push(`start charon (${desired.charon.dataplane})`);
    actions.push(...(await applyKernelPath(this.options.runner, desired)));
    const loaded = await this.load(desired);
    actions.push(...loaded.actions);
    this.appliedArtifact = desired;
    // charon acts on start_action itself when a connection is (re)loaded; otherwise bring up what is down
    if (!loaded.connections) actions.push(...(await this.healer.startDownTunnels(desired)));
    return actions;
  }

  /** Adopts or starts charon; resolves true when an earlier Junction's charon was adopted with a record of what it holds. */
  private async startCharon(desired: VpnArtifact): Promise<boolean> {
    const { adopted } = await this.charon.start(desired.charon, (daemon) => this.afterCharonRestart(daemon));
    const record = adopted && this.charon.pid ? restoreLoaded(this.recordPath, this.charon.pid) : undefined;
    if (adopted && !record) this.options.log.warn('vpn: adopted charon has no record of what was loaded; loading the configuration again (charon keeps SAs of unchanged connections)');
    this.loaded = record ?? emptyLoaded();
    await this.subscribe().catch((error: Error) => this.options.log.warn('vpn: event subscription failed', { error: error.message }));
    this.probe.start();
    return record !== undefined;
  }

  private async stopCharon(): Promise<void> {
    this.healer.cancel();
    this.probe.stop();
    this.events.close();
    this.resetLoaded();
    forgetLoaded(this.recordPath);
    await this.charon.stop();
  }

  private async subscribe(): Promise<void> {
    await this.events.subscribe(await this.charon.connect());
  }

  private resetLoaded(): void {
    this.loaded = emptyLoaded();
  }

  /** The supervisor restarted charon: it lost everything, so load it all again. */
  private afterCharonRestart(daemon: CharonDaemon): Promise<void> {
    return this.queue.run(async () => {
      if (!this.charon.isCurrent(daemon)) return;
      this.options.log.warn('vpn: charon restarted; loading the configuration again', { pid: daemon.pid, restarts: daemon.restartCount });
      this.events.close();
      this.charon.disconnect();
      this.resetLoaded();
      const { actions } = await this.load(this.appliedArtifact);
      await this.subscribe().catch(() => undefined);
      this.options.log.info('vpn: configuration loaded after restart', { actions: actions.length });
    });
  }

  /** load(), then the record of what this charon holds, also when a step failed half-way. */
  private async load(desired: VpnArtifact): Promise<{ actions: string[]; connections: boolean }> {
    try {
      return await this.loadNow(desired);
    } finally {
      const pid = this.charon.pid;
      if (pid) {
        try {
          saveLoaded(this.recordPath, pid, this.loaded);
        } catch (error) {
          this.options.log.warn('vpn: could not record what charon holds; the next Junction loads it again', { error: (error as Error).message });
        }
      }
    }
  }

  /** Loads what differs from what this charon holds; unloads what is no longer configured. `connections`: a connection was (un)loaded. */
  private async loadNow(desired: VpnArtifact): Promise<{ actions: string[]; connections: boolean }> {
    const actions: string[] = [];
    let connections = false;
    const client = await this.charon.connect();
    const step = async (what: string, pathInDoc: string, run: () => Promise<void>) => {
      try {
        await run();
        actions.push(what);
      } catch (error) {
        const reason = error instanceof ViciCommandError ? error.errmsg || 'refused' : (error as Error).message;
        throw new ApplyFailed('vpn', `${what}: charon: ${reason}`, pathInDoc);
      }
    };
    const keyIds = new Set(await client.getKeys());
    for (const k of desired.keys) {
      const hash = sha(k.data);
      const replaced = this.loaded.keys.get(k.name);
      if (replaced?.hash === hash && keyIds.has(replaced.id)) continue;
      await step(`load-key ${k.name}`, k.path, async () => {
        const id = await client.loadKey({ type: 'ANY', data: k.data });
        this.loaded.keys.set(k.name, { hash, id });
      });
      if (replaced && keyIds.has(replaced.id) && replaced.id !== this.loaded.keys.get(k.name)?.id) {
        await step(`unload-key ${k.name} (replaced)`, k.path, () => client.unloadKey(replaced.id));
      }
    }
    const sharedIds = new Set(await client.getShared());
    for (const s of desired.secrets) {
      const hash = this.secretHash(s);
      if (this.loaded.secrets.get(s.id) === hash && sharedIds.has(s.id)) continue;
      await step(`load-shared ${s.id} (owners ${s.owners.join(', ')})`, s.path, async () => {
        await client.loadShared({ id: s.id, type: s.type, data: s.data, owners: s.owners });
        this.loaded.secrets.set(s.id, hash);
      });
    }
    const previous = new Map(this.appliedArtifact.connections.map((c) => [c.name, c]));
    const present = new Set(await client.getConns());
    const differences = await loadedDifferences(client, desired);
    for (const c of desired.connections) {
      const digest = fullDigest(c);
      const current = this.loaded.conns.get(c.name) === digest;
      // Junction loaded exactly this, but charon no longer holds it: changed or unloaded behind Junction's back
      const tampered = current && (!present.has(c.name) || !!differences.get(c.name)?.length);
      if (current && !tampered) continue;
      const before = this.loaded.conns.has(c.name) ? previous.get(c.name) : undefined;
      const inPlace = before?.ikeDigest === c.ikeDigest;
      const detail = tampered ? (present.has(c.name) ? ' (charon held other settings: loaded again)' : ' (charon had unloaded it: loaded again)')
        : !before ? '' : inPlace ? ` (tunnels updated in place: ${differingTunnels(before, c).join(', ')})` : ' (IKE settings changed: replaced)';
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
    for (const name of [...new Set([...this.loaded.conns.keys(), ...present])].sort()) {
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
    for (const id of [...new Set([...this.loaded.secrets.keys(), ...sharedIds])].sort()) {
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
}
