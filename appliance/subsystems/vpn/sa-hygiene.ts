// SA hygiene: the SAs a configuration change leaves behind, and always-on
// tunnels that are down.
//
// load-conn and unload-conn change charon's configuration, not the SAs it
// already negotiated: charon closes the CHILD_SAs of tunnels with
// start_action=start itself (and starts them again), but a tunnel with
// trap or none would keep carrying traffic under its old selectors, or
// after it was removed. So the SAs a change makes outdated are noted before
// it and closed after it, by their unique ids (new SAs are never touched).
//
// Always-on tunnels (start_action start) can be left without a CHILD_SA: a
// peer that came back and initiated with INITIAL_CONTACT makes charon drop
// the old IKE_SA with all its tunnels, but brings up only what the peer
// asked for; a peer that was unreachable makes charon give up after its
// tries. They are initiated again after tunnel events settle, and by apply.
//
// Duplicate IKE_SAs: when both sides initiate at once (the peer comes back
// and starts its tunnels while Junction is retransmitting its own
// IKE_SA_INIT), each side ends up with two IKE_SAs for the peer, and a
// tunnel may get a CHILD_SA on each. After events settle, the extra IKE_SAs
// are closed where Junction can bring their tunnels back on the one kept.
import type { Logger } from '../../platform/log.js';
import type { SerialQueue } from '../../platform/serial-queue.js';
import { ViciSection, type ViciClient, type ViciPlain } from './vici/index.js';
import type { Charon } from './charon.js';
import type { VpnArtifact } from './render.js';
import { childSas, str } from './status.js';

type Connection = VpnArtifact['connections'][number];

export interface OutdatedSa { kind: 'ike' | 'child'; id: string; what: string }

/** How long tunnel events must settle before down always-on tunnels are initiated. */
export const HEAL_DELAY_MS = 3_000;
/**
 * How many more times the heal waits while charon is still negotiating
 * with a peer (it leaves such peers alone): after a peer's reboot both
 * sides may still be at work when the events stop, and without a new event
 * the duplicates would wait for the next reconcile.
 */
export const HEAL_RETRIES = 20;
const GONE_STATES = new Set(['DELETING', 'DELETED', 'DESTROYING']);
/** An IKE_SA or CHILD_SA that is not on its way out. */
const live = (sa: ViciPlain): boolean => !GONE_STATES.has(String(sa.state));
/** charon is at work on this IKE_SA: being set up, or an exchange under way or queued (e.g. the next CHILD_SA of many). */
const negotiating = (ike: ViciPlain): boolean =>
  ike.state === 'CONNECTING' || ike.state === 'CREATED' || ['tasks-queued', 'tasks-active'].some((k) => Array.isArray(ike[k]) && (ike[k] as unknown[]).length > 0);

/** A tunnel's start_action as it was loaded (connection body -> children -> tunnel). */
export function startAction(conn: Connection, tunnel: string): string | undefined {
  const section = (value: unknown) => (value instanceof ViciSection ? value : undefined);
  const children = section(conn.config.get('children'));
  return str(section(children?.get(tunnel))?.get('start_action'));
}

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

/**
 * Per peer with more than one ESTABLISHED IKE_SA (and none being negotiated),
 * the IKE_SAs to close so that one is left. Kept: one carrying a tunnel that
 * Junction does not start itself (only the peer brings that back), else the
 * one with the most CHILD_SAs, then the oldest. Closed: the others whose
 * every tunnel is always-on (Junction initiates it again, on the kept
 * IKE_SA) or on the kept IKE_SA too; any other is left as it is.
 */
export async function duplicateIkeSas(client: ViciClient, desired: VpnArtifact): Promise<OutdatedSa[]> {
  const sas = await client.listSas();
  const out: OutdatedSa[] = [];
  for (const c of desired.connections) {
    const mine = sas.filter((sa) => sa.name === c.name).map((sa) => sa.value);
    const established = mine.filter((ike) => ike.state === 'ESTABLISHED');
    if (established.length < 2 || mine.some(negotiating)) continue;
    const tunnels = (ike: ViciPlain) => new Set(childSas(ike).filter(({ sa }) => live(sa)).map(({ tunnel }) => tunnel));
    const peerStarted = (ike: ViciPlain) => [...tunnels(ike)].some((t) => startAction(c, t) !== 'start');
    const age = (ike: ViciPlain) => Number(str(ike.established) ?? 0);
    const [kept, ...others] = [...established].sort((a, b) => Number(peerStarted(b)) - Number(peerStarted(a)) || tunnels(b).size - tunnels(a).size || age(b) - age(a));
    const keptTunnels = tunnels(kept!);
    for (const ike of others) {
      const id = str(ike.uniqueid);
      if (id && [...tunnels(ike)].every((t) => keptTunnels.has(t) || startAction(c, t) === 'start')) out.push({ kind: 'ike', id, what: c.name });
    }
  }
  return out;
}

/** The configured peers charon is negotiating with now (downAlwaysOn and duplicateIkeSas leave them alone). */
export async function negotiatingPeers(client: ViciClient, desired: VpnArtifact): Promise<string[]> {
  const sas = await client.listSas();
  return desired.connections.filter((c) => sas.some((sa) => sa.name === c.name && negotiating(sa.value))).map((c) => c.name);
}

/** Tunnels added, changed or removed between two loads of a connection. */
export function differingTunnels(before: Connection, after: Connection): string[] {
  return Object.keys({ ...before.childDigests, ...after.childDigests }).filter((t) => before.childDigests[t] !== after.childDigests[t]);
}

/** Tunnels whose SAs a load leaves outdated: changed or removed, except those charon restarts itself (start_action=start). */
export function changedTunnels(before: Connection, after: Connection): Set<string> {
  return new Set(differingTunnels(before, after).filter((t) => t in before.childDigests && startAction(before, t) !== 'start'));
}

/** The peer's IKE_SAs (tunnels undefined: the whole peer changed or goes), or the CHILD_SAs of these tunnels. */
export async function outdatedSas(client: ViciClient, peer: string, tunnels?: Set<string>): Promise<OutdatedSa[]> {
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
export async function closeOutdated(client: ViciClient, peer: string, outdated: OutdatedSa[]): Promise<string[]> {
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

/** Brings always-on tunnels back up: on demand (apply) and after tunnel events settle. */
export class TunnelHealer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly charon: Charon,
    /** the queue apply runs in: healing never interleaves with a load */
    private readonly queue: SerialQueue,
    private readonly applied: () => VpnArtifact,
    private readonly log: Logger,
  ) {}

  /** Initiates the always-on tunnels of `desired` that have no CHILD_SA; returns the actions taken. */
  async startDownTunnels(desired: VpnArtifact): Promise<string[]> {
    if (!desired.active || !this.charon.pid) return [];
    const client = await this.charon.connect();
    const actions: string[] = [];
    for (const [peer, tunnel] of await downAlwaysOn(client, desired)) {
      try {
        await client.initiate({ ike: peer, child: tunnel, timeoutMs: -1 });
        actions.push(`initiate ${peer}/${tunnel} (start_action start, was down)`);
      } catch (error) {
        this.log.warn('vpn: could not initiate a tunnel that is down', { peer, tunnel, error: (error as Error).message });
      }
    }
    return actions;
  }

  /** Closes the extra IKE_SAs of peers that have more than one (duplicateIkeSas); returns the actions taken. */
  async closeDuplicates(desired: VpnArtifact): Promise<string[]> {
    if (!desired.active || !this.charon.pid) return [];
    const client = await this.charon.connect();
    const actions: string[] = [];
    for (const sa of await duplicateIkeSas(client, desired)) {
      try {
        await client.terminate({ ikeId: sa.id, timeoutMs: 5_000 });
        actions.push(`close IKE_SA ${sa.what} #${sa.id} (a second IKE_SA for the peer; its tunnels come back on the one kept)`);
      } catch (error) {
        this.log.warn('vpn: could not close a duplicate IKE_SA', { peer: sa.what, ike_id: sa.id, error: (error as Error).message });
      }
    }
    return actions;
  }

  /** Waits left while charon is still negotiating (HEAL_RETRIES). */
  private retriesLeft = 0;

  /** After tunnel events settle, bring up always-on tunnels the events left down (instead of waiting for the next reconcile). */
  schedule(): void {
    // every up/down event restarts the wait, so many tunnels coming up one by one are not interrupted
    this.retriesLeft = HEAL_RETRIES;
    this.arm();
  }

  /** Counts cancel()s: a heal under way when the driver cancelled does not wait again. */
  private generation = 0;

  private arm(): void {
    this.clearTimer();
    const generation = this.generation;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.queue
        .run(async () => {
          const desired = this.applied();
          const actions = [...(await this.closeDuplicates(desired)), ...(await this.startDownTunnels(desired))];
          if (actions.length) this.log.info('vpn: acted after peer events settled', { actions });
          // a peer charon still negotiates with was left alone: look again when that is done
          return desired.active && this.charon.pid ? (await negotiatingPeers(await this.charon.connect(), desired)).length > 0 : false;
        })
        .then((busy) => {
          if (busy && generation === this.generation && !this.timer && this.retriesLeft-- > 0) this.arm();
        })
        .catch((error: Error) => this.log.warn('vpn: heal after events failed', { error: error.message }));
    }, HEAL_DELAY_MS);
    this.timer.unref();
  }

  cancel(): void {
    this.generation++;
    this.clearTimer();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
