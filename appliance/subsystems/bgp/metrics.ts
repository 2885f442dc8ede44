// BGP's part of GET /metrics: per neighbor its FSM state, uptime, prefixes
// received/accepted/exported and flaps, and bird's restarts, from the same
// reading of bird as GET /v1/bgp/status. BIRD keeps no flap count, so this
// counts them: a session that was Established and is not any more, or is
// Established again since a later time, flapped (two flaps between two
// collections count as one).
import { daemonFamilies, family, stateSamples, type MetricFamily } from '../../core/metric-samples.js';
import type { BgpStatus } from './status.js';

const NEIGHBOR = ['neighbor', 'address'] as const;
const gaugeSpec = (name: string, help: string) => ({ name, help, type: 'gauge' as const, labelNames: NEIGHBOR });

/** The BGP FSM states as BIRD names them, each always present (0 or 1) so PromQL sees every state. */
const FSM_STATES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established', 'Down'] as const;

export const BGP_SPECS = {
  state: { name: 'junction_bgp_neighbor_state', help: 'BGP FSM state of a neighbor: 1 for the current state, 0 for the others', type: 'gauge' as const, labelNames: [...NEIGHBOR, 'state'] },
  up: gaugeSpec('junction_bgp_neighbor_up', 'Whether a BGP session is Established (1) or not (0)'),
  uptime: gaugeSpec('junction_bgp_neighbor_uptime_seconds', 'Seconds since the BGP session was established (0 when it is not)'),
  received: gaugeSpec('junction_bgp_neighbor_prefixes_received', 'Prefixes the neighbor sent us (accepted and filtered)'),
  accepted: gaugeSpec('junction_bgp_neighbor_prefixes_accepted', 'Prefixes from the neighbor that passed the import filter'),
  exported: gaugeSpec('junction_bgp_neighbor_prefixes_exported', 'Prefixes we advertise to the neighbor'),
  flaps: { name: 'junction_bgp_neighbor_flaps_total', help: 'Times an Established session with the neighbor went down, as seen since Junction started', type: 'counter' as const, labelNames: NEIGHBOR },
};

export class BgpMetrics {
  /** per neighbor id: when its session was last seen established (undefined: it was not) and its flaps */
  private readonly seen = new Map<string, { establishedSince?: string; flaps: number }>();

  families(status: BgpStatus): MetricFamily[] {
    const neighbors = status.neighbors.map((n) => ({ n, labels: { neighbor: n.id, address: n.address }, flaps: this.noteFlaps(n.id, n.established ? (n.since ?? 'unknown') : undefined) }));
    for (const id of this.seen.keys()) if (!status.neighbors.some((n) => n.id === id)) this.seen.delete(id);
    const each = (spec: (typeof BGP_SPECS)['up'], pick: (n: BgpStatus['neighbors'][number]) => number) => family(spec, neighbors.map(({ n, labels }) => ({ labels, value: pick(n) })));
    return [
      family(BGP_SPECS.state, neighbors.flatMap(({ n, labels }) => stateSamples(labels, FSM_STATES, n.state))),
      each(BGP_SPECS.up, (n) => (n.established ? 1 : 0)),
      each(BGP_SPECS.uptime, (n) => n.uptime_s ?? 0),
      each(BGP_SPECS.received, (n) => n.prefixes.received),
      each(BGP_SPECS.accepted, (n) => n.prefixes.accepted),
      each(BGP_SPECS.exported, (n) => n.prefixes.advertised),
      family(BGP_SPECS.flaps, neighbors.map(({ labels, flaps }) => ({ labels, value: flaps }))),
      ...(status.configured ? daemonFamilies([{ daemon: 'bird', running: status.bird.running, restarts: status.bird.restarts }]) : []),
    ];
  }

  /** Counts a flap when an established session is gone or was re-established since; returns the neighbor's flaps. */
  private noteFlaps(id: string, establishedSince: string | undefined): number {
    const previous = this.seen.get(id) ?? { flaps: 0 };
    const flapped = previous.establishedSince !== undefined && previous.establishedSince !== establishedSince;
    const next = { establishedSince, flaps: previous.flaps + (flapped ? 1 : 0) };
    this.seen.set(id, next);
    return next.flaps;
  }
}
