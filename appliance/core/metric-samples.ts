// What a subsystem hands to GET /metrics: plain, typed metric families
// (name, help, type, samples with labels). Subsystems build these from what
// they read from the kernel or their daemon; core/metrics.ts alone turns
// them into Prometheus text with prom-client, so no subsystem depends on it.

export type MetricType = 'counter' | 'gauge';

export interface MetricSample {
  labels?: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  /** Prometheus name: junction_<area>_<what>[_unit][_total for counters] */
  name: string;
  help: string;
  type: MetricType;
  /** every label a sample of this family carries */
  labelNames: readonly string[];
  samples: MetricSample[];
}

/** A family's identity without its samples: several subsystems may fill one (junction_daemon_restarts_total). */
export type MetricSpec = Omit<MetricFamily, 'samples'>;

export const family = (spec: MetricSpec, samples: MetricSample[]): MetricFamily => ({ ...spec, samples });

/**
 * Families that the API's dashboard and the shipped Grafana board rely on
 * but that a subsystem built elsewhere fills: the core always declares them
 * (HELP and TYPE, no series until someone contributes), and a contributor
 * uses the spec as is, so the names cannot drift apart.
 */
export const SHARED_FAMILIES = {
  daemonRestarts: {
    name: 'junction_daemon_restarts_total',
    help: 'Times Junction restarted a daemon it supervises after it died, since Junction started',
    type: 'counter',
    labelNames: ['daemon'],
  },
  daemonUp: {
    name: 'junction_daemon_up',
    help: 'Whether a daemon Junction supervises is running (1) or not (0)',
    type: 'gauge',
    labelNames: ['daemon'],
  },
  /** the DHCP server's leases: one sample per interface it serves */
  dhcpLeases: {
    name: 'junction_dhcp_leases',
    help: 'Active DHCP leases the DHCP server holds, per interface it serves',
    type: 'gauge',
    labelNames: ['interface'],
  },
  /** the number of addresses the DHCP server may hand out on an interface */
  dhcpPoolSize: {
    name: 'junction_dhcp_pool_size',
    help: 'Addresses the DHCP server may hand out, per interface it serves',
    type: 'gauge',
    labelNames: ['interface'],
  },
} as const satisfies Record<string, MetricSpec>;

/** The up and restarts samples of one supervised daemon. */
export function daemonFamilies(daemons: Array<{ daemon: string; running: boolean; restarts: number }>): MetricFamily[] {
  return [
    family(SHARED_FAMILIES.daemonUp, daemons.map((d) => ({ labels: { daemon: d.daemon }, value: d.running ? 1 : 0 }))),
    family(SHARED_FAMILIES.daemonRestarts, daemons.map((d) => ({ labels: { daemon: d.daemon }, value: d.restarts }))),
  ];
}

/** One-hot state: a sample per possible state, 1 for the current one (PromQL: `== 1`). */
export function stateSamples(labels: Record<string, string>, states: readonly string[], current: string): MetricSample[] {
  const all = states.includes(current) ? states : [...states, current];
  return all.map((state) => ({ labels: { ...labels, state }, value: state === current ? 1 : 0 }));
}
