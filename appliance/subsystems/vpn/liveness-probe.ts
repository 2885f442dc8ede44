// The liveness probe: a tunnel that is `stalled` (packets go out, none come
// in: status.ts isStalled) makes Junction force an authenticated IKE
// exchange on its IKE_SA, instead of waiting for the next DPD, which charon
// sends only after dpd_delay_s without inbound traffic and may be off.
// The exchange is a rekey over VICI (IKEv2: the IKE_SA, in place, no ESP SA
// changes; IKEv1 has no inline IKE rekey, so the stalled CHILD_SA is rekeyed
// with a Quick Mode). Why it helps: behind a NAT that changed its mapping,
// the request leaves from the new port and the peer follows it (NAT-T
// updates the peer's endpoint on an authenticated IKE message, RFC 7296
// 2.23, also on peers that do not follow ESP's source port); with the peer
// or the path gone, no answer comes, charon's retransmits give up (about
// 16 s with Junction's retransmit settings, charon.ts) and the tunnel goes
// `down` instead of staying `stalled` until the next DPD.
// At most one probe per peer (its IKE_SA) per PROBE_EVERY_S, and while the
// peer stays stalled the wait doubles up to PROBE_MAX_EVERY_S (traffic that
// is one-way by nature, e.g. a log stream, must not cost an IKE rekey every
// few seconds); each probe is logged and counted (status:
// peers[].liveness_probes, /metrics).
import type { Logger } from '../../platform/log.js';
import type { ViciClient, ViciPlain } from './vici/index.js';
import type { Charon } from './charon.js';
import type { VpnArtifact } from './render.js';
import { childSas, isStalled, str, viciSaActivity } from './status.js';

/** A tunnel stalled this long (seconds, on top of STALLED_AFTER_S) gets its IKE_SA probed. */
export const PROBE_AFTER_S = 2;
/** At most one probe per peer in this many seconds; doubled after each probe while the peer stays stalled, up to PROBE_MAX_EVERY_S. */
export const PROBE_EVERY_S = 15;
export const PROBE_MAX_EVERY_S = 600;
/** How often the probe looks at charon's SAs. */
const LOOK_EVERY_MS = 1_000;

/** One probe to send: the IKE_SA (IKEv2) or the CHILD_SA (IKEv1) to rekey. */
export interface Probe {
  peer: string;
  tunnel: string;
  ikeVersion: number;
  rekey: { ikeId: string } | { childId: string };
  stalledS: number;
}

export interface ProbeRecord {
  count: number;
  last_at?: string;
  last_tunnel?: string;
}

/** What the probe remembers between looks: since when a tunnel is stalled, when a peer may next be probed (Unix ms) and the wait after that (s). */
export interface ProbeMemory {
  stalledSince: Map<string, number>;
  lastProbe: Map<string, number>;
  nextProbe: Map<string, number>;
  wait: Map<string, number>;
}

/** A probe went to `peer` at `now`: the next one waits, longer each time while the peer stays stalled. */
export function noteProbe(memory: ProbeMemory, peer: string, now: number): void {
  const wait = memory.wait.get(peer) ?? PROBE_EVERY_S;
  memory.lastProbe.set(peer, now);
  memory.nextProbe.set(peer, now + wait * 1000);
  memory.wait.set(peer, Math.min(wait * 2, PROBE_MAX_EVERY_S));
}

/**
 * The probes due now, from one list-sas reading: per configured peer with an
 * ESTABLISHED IKE_SA, the first tunnel stalled for PROBE_AFTER_S, unless the
 * peer's wait since its last probe (noteProbe) is not over or charon is at
 * work on the IKE_SA already. Updates `memory`: stall start times, and a
 * peer with no stalled tunnel starts again from PROBE_EVERY_S.
 */
export function dueProbes(sas: Array<{ name: string; value: ViciPlain }>, peers: string[], memory: ProbeMemory, now: number): Probe[] {
  const due: Probe[] = [];
  const stalledNow = new Set<string>();
  const stalledPeers = new Set<string>();
  for (const peer of peers) {
    const ike = sas.find((sa) => sa.name === peer && sa.value.state === 'ESTABLISHED')?.value;
    if (!ike) continue;
    const byTunnel = new Map<string, ViciPlain[]>();
    for (const { tunnel, sa } of childSas(ike)) if (sa.state === 'INSTALLED') byTunnel.set(tunnel, [...(byTunnel.get(tunnel) ?? []), sa]);
    for (const [tunnel, installed] of byTunnel) {
      if (!isStalled(installed.map(viciSaActivity))) continue;
      const key = `${peer}/${tunnel}`;
      stalledNow.add(key);
      stalledPeers.add(peer);
      const since = memory.stalledSince.get(key) ?? now;
      memory.stalledSince.set(key, since);
      const stalledS = (now - since) / 1000;
      if (stalledS < PROBE_AFTER_S || due.some((p) => p.peer === peer)) continue;
      if (now < (memory.nextProbe.get(peer) ?? -Infinity)) continue;
      // an exchange under way (a rekey, a DPD, a CREATE_CHILD_SA) is the probe already
      if (['tasks-active', 'tasks-queued'].some((k) => Array.isArray(ike[k]) && (ike[k] as unknown[]).length > 0)) continue;
      const ikeVersion = Number(str(ike.version) ?? 2);
      const ikeId = str(ike.uniqueid);
      const childId = str(installed[0]!.uniqueid);
      const rekey = ikeVersion === 1 ? (childId ? { childId } : undefined) : ikeId ? { ikeId } : undefined;
      if (rekey) due.push({ peer, tunnel, ikeVersion, rekey, stalledS });
    }
  }
  for (const key of [...memory.stalledSince.keys()]) if (!stalledNow.has(key)) memory.stalledSince.delete(key);
  for (const peer of [...memory.wait.keys()]) {
    if (stalledPeers.has(peer)) continue;
    memory.wait.delete(peer);
    memory.nextProbe.set(peer, memory.lastProbe.get(peer)! + PROBE_EVERY_S * 1000);
  }
  return due;
}

export class LivenessProbe {
  private timer: NodeJS.Timeout | undefined;
  private looking = false;
  private readonly memory: ProbeMemory = { stalledSince: new Map(), lastProbe: new Map(), nextProbe: new Map(), wait: new Map() };
  private readonly records = new Map<string, ProbeRecord>();

  constructor(
    private readonly charon: Pick<Charon, 'pid' | 'connect'>,
    private readonly applied: () => VpnArtifact,
    private readonly log: Logger,
  ) {}

  /** Starts looking (idempotent); the timer never keeps the process alive. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.look(), LOOK_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The probes sent to a peer since Junction started. */
  record(peer: string): ProbeRecord {
    return this.records.get(peer) ?? { count: 0 };
  }

  /** One look: probes what is due. Never throws (a failed look is logged and the next one tries again). */
  async look(now = Date.now()): Promise<void> {
    const artifact = this.applied();
    if (this.looking || !artifact.active || !this.charon.pid) return;
    this.looking = true;
    try {
      const client = await this.charon.connect();
      const due = dueProbes(await client.listSas({ noblock: true }), artifact.connections.map((c) => c.name), this.memory, now);
      for (const probe of due) await this.send(client, probe, now);
    } catch (error) {
      this.log.warn('vpn: liveness probe could not look at the SAs', { error: (error as Error).message });
    } finally {
      this.looking = false;
    }
  }

  private async send(client: ViciClient, probe: Probe, now: number): Promise<void> {
    noteProbe(this.memory, probe.peer, now);
    const what = 'ikeId' in probe.rekey ? `rekey IKE_SA #${probe.rekey.ikeId}` : `rekey CHILD_SA #${probe.rekey.childId} (IKEv1: no inline IKE rekey)`;
    try {
      await client.rekey(probe.rekey);
    } catch (error) {
      this.log.warn('vpn: liveness probe refused by charon', { peer: probe.peer, tunnel: probe.tunnel, probe: what, error: (error as Error).message });
      return;
    }
    const record = this.record(probe.peer);
    this.records.set(probe.peer, { count: record.count + 1, last_at: new Date(now).toISOString(), last_tunnel: probe.tunnel });
    this.log.info('vpn: tunnel stalled (packets out, none in); liveness probe sent', { peer: probe.peer, tunnel: probe.tunnel, stalled_s: Math.round(probe.stalledS), probe: what });
  }
}
