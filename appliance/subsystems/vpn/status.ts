// The state side of the VPN subsystem: what GET /v1/vpn/status shows per
// peer and tunnel (read from charon's list-sas), and the tunnel events
// charon pushes over VICI (names, states and SPIs, never keys). Reads
// only; changes nothing.
import type { DaemonOrigin } from '../../platform/supervisor.js';
import { EventEmitter } from 'node:events';
import { toPlain, type ViciClient, type ViciPlain, type ViciSection, type ViciSubscription } from './vici/index.js';
import type { Charon } from './charon.js';
import type { VpnArtifact } from './render.js';

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
  charon: { running: boolean; pid?: number; restarts: number; origin?: DaemonOrigin; version?: string; error?: string };
  peers: PeerStatus[];
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
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

  constructor(private readonly onUpDown: () => void) {
    this.emitter.setMaxListeners(0);
  }

  async subscribe(client: ViciClient): Promise<void> {
    this.close();
    this.subscription = await client.subscribe(VPN_EVENTS, (name, message) => {
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

/** Status of the applied artifact as charon reports it. */
export async function vpnStatus(artifact: VpnArtifact, charon: Charon, events: VpnEvents): Promise<VpnStatus> {
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
        local_ts: (v['local-ts'] as string[] | undefined) ?? [],
        remote_ts: (v['remote-ts'] as string[] | undefined) ?? [],
      }));
      const installed = sasOfTunnel.filter((s) => s.state === 'INSTALLED');
      const sum = (k: 'bytes_in' | 'bytes_out' | 'packets_in' | 'packets_out') => sasOfTunnel.reduce((a, s) => a + s[k], 0);
      const oldest = installed.map((s) => s.established_at).filter((x): x is string => !!x).sort()[0];
      const lastRekey = events.lastRekey(`${c.name}/${tunnel}`);
      peer.tunnels.push({
        name: tunnel,
        state: installed.length ? 'up' : 'down',
        ...(oldest ? { established_at: oldest } : {}),
        ...(lastRekey ? { last_rekey: lastRekey } : {}),
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
