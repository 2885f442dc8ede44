// The state side of the VPN subsystem: what GET /v1/vpn/status shows per
// peer and tunnel (read from charon's list-sas), and the tunnel events
// charon pushes over VICI (names, states and SPIs, never keys). Reads
// only; changes nothing.
import type { DaemonOrigin } from '../../platform/supervisor.js';
import { EventEmitter } from 'node:events';
import { toPlain, type ViciClient, type ViciPlain, type ViciSection, type ViciSubscription } from './vici/index.js';
import type { Charon } from './charon.js';
import type { VpnArtifact } from './render.js';
import { uncoveredSelectors } from './selector-coverage.js';
import { TunnelCounters, type SaTraffic } from './tunnel-counters.js';
import type { ProbeRecord } from './liveness-probe.js';

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
  /** seconds since the last packet came in / went out through this SA (absent: none yet) */
  last_in_s?: number;
  last_out_s?: number;
  local_ts: string[];
  remote_ts: string[];
}

export interface TunnelStatus {
  name: string;
  /**
   * up: an SA is installed and, if packets go out, packets come in too;
   * stalled: an SA is installed and packets went out within STALLED_AFTER_S
   * while none came in for STALLED_AFTER_S (the peer or the path is gone,
   * or the traffic is one-way; Junction then probes the IKE_SA,
   * liveness-probe.ts, and charon's retransmits take it `down` when no
   * answer comes); down: no SA.
   */
  state: 'up' | 'stalled' | 'down';
  established_at?: string;
  last_rekey?: string;
  /** cumulative over the tunnel's SAs, across rekeys and Junction restarts */
  bytes_in: number;
  bytes_out: number;
  packets_in: number;
  packets_out: number;
  /** seconds since the last packet came in / went out through the tunnel */
  last_in_s?: number;
  last_out_s?: number;
  /** parts of the configured subnets the peer narrowed away (traffic there has no SA), by side */
  uncovered?: { local: string[]; remote: string[] };
  sas: ChildSaStatus[];
}

/** Outbound with no inbound for this long makes an installed tunnel `stalled`. */
export const STALLED_AFTER_S = 3;

/** What `stalled` is judged on, per installed SA: seconds since the last packet in / out, and since it was installed. */
export interface SaActivity {
  last_in_s?: number;
  last_out_s?: number;
  age_s?: number;
}

/**
 * The one definition of `stalled` (TunnelStatus.state), shared by status and
 * the liveness probe: packets went out within STALLED_AFTER_S and none came
 * in for STALLED_AFTER_S (an SA that never received counts from when it was
 * installed). A tunnel that sends nothing is not judged: idle is not stalled.
 * "Went out" is not bounded tighter: charon reports whole seconds, and on
 * the kernel data plane a busy SA's last use was seen 2 s old (a tunnel then
 * read `up` while nothing had come back for 12 s).
 */
export function isStalled(installed: SaActivity[]): boolean {
  const lastIn = newest(installed.map((s) => s.last_in_s));
  const lastOut = newest(installed.map((s) => s.last_out_s));
  const youngest = newest(installed.map((s) => s.age_s));
  return lastOut !== undefined && lastOut < STALLED_AFTER_S && (lastIn ?? youngest ?? 0) >= STALLED_AFTER_S;
}

/** A CHILD_SA of list-sas as isStalled reads it. */
export function viciSaActivity(sa: ViciPlain): SaActivity {
  return { last_in_s: seconds(sa['use-in']), last_out_s: seconds(sa['use-out']), age_s: seconds(sa['install-time']) };
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
  /**
   * charon's NAT detection: local, this side's address is translated on the
   * way; remote, the peer's detection payload does not match its address: the
   * peer is behind NAT, or fakes that to get UDP encapsulation (a peer on
   * libipsec or with encap=yes does); the wire cannot tell the two apart
   */
  nat?: { local: boolean; remote: boolean };
  /**
   * ESP travels in UDP 4500 (not IP protocol 50), and why: libipsec (this
   * data plane always encapsulates), nat (this side is behind NAT), peer
   * (see nat.remote), forced (nat_traversal: force)
   */
  udp_encap?: boolean;
  udp_encap_reason?: 'libipsec' | 'nat' | 'peer' | 'forced';
  /** what the on-prem firewall in front of the peer must let in from this router */
  peer_must_allow?: string;
  /** IKE exchanges Junction forced because a tunnel stalled (liveness-probe.ts), since Junction started */
  liveness_probes: ProbeRecord;
  tunnels: TunnelStatus[];
}

export interface VpnStatus {
  configured: boolean;
  dataplane: { dataplane: string; reason: string; tunnel_interface: string; zone: string } | null;
  charon: { running: boolean; pid?: number; restarts: number; origin?: DaemonOrigin; version?: string; error?: string };
  peers: PeerStatus[];
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const seconds = (v: unknown): number | undefined => (typeof v === 'string' && v !== '' ? Number(v) : undefined);
const newest = (values: Array<number | undefined>): number | undefined => {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length ? Math.min(...known) : undefined;
};
const num = (v: unknown): number => (typeof v === 'string' && v !== '' ? Number(v) : 0);
const agoIso = (secondsAgo: unknown, now: number): string | undefined => (typeof secondsAgo === 'string' ? new Date(now - Number(secondsAgo) * 1000).toISOString() : undefined);

/** The CHILD_SAs of one IKE_SA from list-sas, each with its tunnel's name (list-sas keys them "<name>-<id>"). */
export function childSas(ike: ViciPlain): Array<{ tunnel: string; sa: ViciPlain }> {
  return Object.entries((ike['child-sas'] as Record<string, ViciPlain> | undefined) ?? {}).map(([key, sa]) => ({ tunnel: str(sa.name) ?? key, sa }));
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

/** charon's tunnel events: passed on to listeners, rekeys remembered for status, up/down reported to `onUpDown`. */
export class VpnEvents {
  private subscription: ViciSubscription | undefined;
  private readonly emitter = new EventEmitter();
  private readonly rekeys = new Map<string, string>();
  /** cumulative traffic per tunnel ("peer/tunnel") */
  readonly counters: TunnelCounters;

  /** @param countersFile where the cumulative counts persist across Junction restarts */
  constructor(private readonly onUpDown: () => void, countersFile?: string) {
    this.emitter.setMaxListeners(0);
    this.counters = new TunnelCounters(countersFile);
  }

  async subscribe(client: ViciClient): Promise<void> {
    this.close();
    this.subscription = await client.subscribe(VPN_EVENTS, (name, message) => {
      retireFromEvent(this.counters, name as VpnEventName, toPlain(message));
      for (const event of toVpnEvents(name as VpnEventName, message)) {
        if (event.event === 'ike-rekey') this.rekeys.set(event.peer, event.at);
        if (event.event === 'child-rekey' && event.tunnel) this.rekeys.set(`${event.peer}/${event.tunnel}`, event.at);
        if (event.event === 'ike-updown' || event.event === 'child-updown') this.onUpDown();
        this.emitter.emit('event', event);
      }
    });
  }

  close(): void {
    this.subscription?.close();
    this.subscription = undefined;
  }

  /** Listens to tunnel events; returns the function that stops listening. */
  onEvent(listener: (event: VpnEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  /** When a peer ("site") or a tunnel ("site/lan") last rekeyed, as far as events told. */
  lastRekey(key: string): string | undefined {
    return this.rekeys.get(key);
  }
}

/** One CHILD_SA's counts from list-sas or an event; the key survives charon restarts (ids restart, SPIs do not repeat). */
export function saTraffic(sa: ViciPlain): SaTraffic {
  return { key: `${str(sa.uniqueid) ?? ''}:${str(sa['spi-in']) ?? ''}`, bytes_in: num(sa['bytes-in']), bytes_out: num(sa['bytes-out']), packets_in: num(sa['packets-in']), packets_out: num(sa['packets-out']) };
}

/** A rekey's old SA, or an SA going down, carries its final counts: they join the tunnel's base. */
export function retireFromEvent(counters: TunnelCounters, name: VpnEventName, plain: ViciPlain): void {
  if (name !== 'child-rekey' && !(name === 'child-updown' && plain.up !== 'yes')) return;
  for (const [peer, value] of Object.entries(plain)) {
    if (peer === 'up' || typeof value !== 'object' || Array.isArray(value)) continue;
    for (const [key, child] of Object.entries(((value as ViciPlain)['child-sas'] as Record<string, ViciPlain> | undefined) ?? {})) {
      const gone = name === 'child-rekey' ? (child.old as ViciPlain | undefined) : child;
      if (gone) counters.retire(`${peer}/${str(gone.name) ?? str(child.name) ?? key}`, saTraffic(gone));
    }
  }
}


/** Why ESP is in UDP 4500, and what the peer's firewall must then let in. */
function encapsulation(artifact: VpnArtifact, c: VpnArtifact['connections'][number], ike: ViciPlain): Pick<PeerStatus, 'nat' | 'udp_encap' | 'udp_encap_reason' | 'peer_must_allow'> {
  const nat = { local: ike['nat-local'] === 'yes', remote: ike['nat-remote'] === 'yes' };
  // libipsec cannot receive raw ESP: charon fakes NAT detection so the peer encapsulates too (nat-fake)
  const reason = artifact.charon.dataplane === 'libipsec' ? 'libipsec' : nat.local ? 'nat' : c.config.get('encap') === 'yes' ? 'forced' : nat.remote ? 'peer' : undefined;
  const from = str(ike['local-host']) ?? 'this router';
  return {
    nat,
    udp_encap: reason !== undefined,
    ...(reason ? { udp_encap_reason: reason } : {}),
    peer_must_allow: reason
      ? `UDP 500 and UDP 4500 from ${from} (ESP arrives inside UDP 4500; IP protocol 50 is not used)`
      : `UDP 500 and ESP (IP protocol 50) from ${from} (and UDP 4500 should NAT appear on the path)`,
  };
}

/** The configured selectors of a tunnel, from the rendered child. */
function configuredTs(c: VpnArtifact['connections'][number], tunnel: string): { local: string[]; remote: string[] } {
  const child = (c.config.get('children') as { get(key: string): unknown } | undefined)?.get(tunnel) as { get(key: string): unknown } | undefined;
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
  return { local: list(child?.get('local_ts')), remote: list(child?.get('remote_ts')) };
}

/** Status of the applied artifact as charon reports it. */
export async function vpnStatus(artifact: VpnArtifact, charon: Charon, events: VpnEvents, probes?: { record(peer: string): ProbeRecord }): Promise<VpnStatus> {
  const out: VpnStatus = {
    configured: artifact.active,
    dataplane: artifact.active ? { ...artifact.dataplane, tunnel_interface: artifact.tunnelInterface, zone: artifact.zone } : null,
    charon: { running: !!charon.pid, ...(charon.pid ? { pid: charon.pid } : {}), restarts: charon.restarts, ...(charon.origin ? { origin: charon.origin } : {}) },
    peers: [],
  };
  let sas: Array<{ name: string; value: ViciPlain }> = [];
  if (charon.pid) {
    try {
      const client = await charon.connect();
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
    const peer: PeerStatus = { name: c.name, state: ike ? String(ike.state) : 'DOWN', liveness_probes: probes?.record(c.name) ?? { count: 0 }, tunnels: [] };
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
        ...encapsulation(artifact, c, ike),
      });
    }
    const lastIkeRekey = events.lastRekey(c.name);
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
        ...(seconds(v['use-in']) !== undefined ? { last_in_s: seconds(v['use-in']) } : {}),
        ...(seconds(v['use-out']) !== undefined ? { last_out_s: seconds(v['use-out']) } : {}),
        local_ts: (v['local-ts'] as string[] | undefined) ?? [],
        remote_ts: (v['remote-ts'] as string[] | undefined) ?? [],
      }));
      const installed = sasOfTunnel.filter((s) => s.state === 'INSTALLED');
      const traffic = events.counters.observe(`${c.name}/${tunnel}`, children.map(({ sa }) => saTraffic(sa)));
      const oldest = installed.map((s) => s.established_at).filter((x): x is string => !!x).sort()[0];
      const lastRekey = events.lastRekey(`${c.name}/${tunnel}`);
      const lastIn = newest(installed.map((s) => s.last_in_s));
      const lastOut = newest(installed.map((s) => s.last_out_s));
      const stalled = isStalled(installed.map((s) => ({ last_in_s: s.last_in_s, last_out_s: s.last_out_s, age_s: s.established_at ? (now - Date.parse(s.established_at)) / 1000 : undefined })));
      const negotiated = { local: installed.flatMap((s) => s.local_ts), remote: installed.flatMap((s) => s.remote_ts) };
      const configured = configuredTs(c, tunnel);
      const uncovered = { local: uncoveredSelectors(configured.local, negotiated.local), remote: uncoveredSelectors(configured.remote, negotiated.remote) };
      peer.tunnels.push({
        name: tunnel,
        state: !installed.length ? 'down' : stalled ? 'stalled' : 'up',
        ...(oldest ? { established_at: oldest } : {}),
        ...(lastRekey ? { last_rekey: lastRekey } : {}),
        ...traffic,
        ...(lastIn !== undefined ? { last_in_s: lastIn } : {}),
        ...(lastOut !== undefined ? { last_out_s: lastOut } : {}),
        ...(installed.length && (uncovered.local.length || uncovered.remote.length) ? { uncovered } : {}),
        sas: sasOfTunnel,
      });
    }
    out.peers.push(peer);
  }
  return out;
}
