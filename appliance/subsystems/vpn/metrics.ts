// The VPN's part of GET /metrics: per tunnel its state (up, stalled, down),
// cumulative bytes and packets by direction (tunnel-counters.ts, across
// rekeys), rekeys and the time of its last state change; per peer the
// liveness probes (liveness-probe.ts); and charon's restarts. State and traffic come from the same list-sas reading as
// GET /v1/vpn/status; rekeys and up/down times from charon's events, and a
// change that no event reports (up <-> stalled, missed events) is dated when
// a collection first sees it.
import { daemonFamilies, family, stateSamples, type MetricFamily } from '../../core/metric-samples.js';
import type { VpnEvent, VpnStatus } from './status.js';

const TUNNEL = ['peer', 'tunnel'] as const;
const BY_DIRECTION = ['peer', 'tunnel', 'direction'] as const;
const TUNNEL_STATES = ['up', 'stalled', 'down'] as const;

export const VPN_SPECS = {
  state: { name: 'junction_vpn_tunnel_state', help: 'IPsec tunnel state (up, stalled, down): 1 for the current state, 0 for the others', type: 'gauge' as const, labelNames: [...TUNNEL, 'state'] },
  bytes: { name: 'junction_vpn_tunnel_bytes_total', help: 'Bytes through an IPsec tunnel by direction (in, out), cumulative across rekeys', type: 'counter' as const, labelNames: BY_DIRECTION },
  packets: { name: 'junction_vpn_tunnel_packets_total', help: 'Packets through an IPsec tunnel by direction (in, out), cumulative across rekeys', type: 'counter' as const, labelNames: BY_DIRECTION },
  rekeys: { name: 'junction_vpn_tunnel_rekeys_total', help: "Rekeys of a tunnel's CHILD_SA that charon reported since Junction started", type: 'counter' as const, labelNames: TUNNEL },
  probes: { name: 'junction_vpn_liveness_probes_total', help: 'IKE exchanges Junction forced on a peer because one of its tunnels stalled (packets out, none in), since Junction started', type: 'counter' as const, labelNames: ['peer'] as const },
  lastChange: { name: 'junction_vpn_tunnel_last_change_timestamp_seconds', help: 'When the tunnel last changed state (Unix time); absent until a change or an established SA dates it', type: 'gauge' as const, labelNames: TUNNEL },
};

interface TunnelHistory {
  rekeys: number;
  /** Unix ms of the last state change, when known */
  changedAt?: number;
  /** the state the last collection saw, and the changedAt it left */
  seenState?: string;
  seenChangedAt?: number;
}

export class VpnMetrics {
  private readonly tunnels = new Map<string, TunnelHistory>();

  private history(peer: string, tunnel: string): TunnelHistory {
    const key = `${peer}/${tunnel}`;
    let history = this.tunnels.get(key);
    if (!history) this.tunnels.set(key, (history = { rekeys: 0 }));
    return history;
  }

  /** charon's events: child rekeys counted, child up/down dated. */
  noteEvent(event: VpnEvent): void {
    if (!event.tunnel) return;
    if (event.event === 'child-rekey') this.history(event.peer, event.tunnel).rekeys++;
    if (event.event === 'child-updown') this.history(event.peer, event.tunnel).changedAt = Date.parse(event.at);
  }

  families(status: VpnStatus, now = Date.now()): MetricFamily[] {
    const tunnels = status.peers.flatMap((peer) => peer.tunnels.map((t) => ({ t, labels: { peer: peer.name, tunnel: t.name }, history: this.history(peer.name, t.name) })));
    for (const { t, history } of tunnels) {
      if (history.seenState === undefined && history.changedAt === undefined && t.established_at) history.changedAt = Date.parse(t.established_at);
      // a change no event dated since the last look: it happened by now
      if (history.seenState !== undefined && history.seenState !== t.state && history.changedAt === history.seenChangedAt) history.changedAt = now;
      history.seenState = t.state;
      history.seenChangedAt = history.changedAt;
    }
    const byDirection = (pick: (t: VpnStatus['peers'][number]['tunnels'][number], direction: 'in' | 'out') => number) =>
      tunnels.flatMap(({ t, labels }) => (['in', 'out'] as const).map((direction) => ({ labels: { ...labels, direction }, value: pick(t, direction) })));
    return [
      family(VPN_SPECS.state, tunnels.flatMap(({ t, labels }) => stateSamples(labels, TUNNEL_STATES, t.state))),
      family(VPN_SPECS.bytes, byDirection((t, d) => (d === 'in' ? t.bytes_in : t.bytes_out))),
      family(VPN_SPECS.packets, byDirection((t, d) => (d === 'in' ? t.packets_in : t.packets_out))),
      family(VPN_SPECS.rekeys, tunnels.map(({ labels, history }) => ({ labels, value: history.rekeys }))),
      family(VPN_SPECS.lastChange, tunnels.flatMap(({ labels, history }) => (history.changedAt === undefined ? [] : [{ labels, value: history.changedAt / 1000 }]))),
      family(VPN_SPECS.probes, status.peers.map((peer) => ({ labels: { peer: peer.name }, value: peer.liveness_probes.count }))),
      ...(status.configured ? daemonFamilies([{ daemon: 'charon', running: status.charon.running, restarts: status.charon.restarts }]) : []),
    ];
  }
}
