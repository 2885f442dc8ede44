// Static routes. Junction tags its routes with its own routing protocol
// number, so it can set-diff exactly what it owns and never touches routes
// added by the kernel, DHCP, BIRD (proto bird) or an administrator.
import type { Config } from '../../model/schema.js';
import type { Problem } from '../../model/problems.js';
import { runChecked, type CommandRunner } from '../../platform/command-runner.js';
import { parsePrefix, formatPrefix, parseAddress, formatAddress } from '../../model/ip.js';
import type { Subsystem } from '../../core/subsystem.js';
import { routesStatus } from './status.js';

/** iproute2 protocol number for Junction's static routes (unassigned in rt_protos). */
export const JUNCTION_ROUTE_PROTO = '77';

export interface RouteSpec {
  id: string;
  family: 4 | 6;
  destination: string;
  via?: string;
  interface?: string;
  metric: number;
  blackhole: boolean;
}

export interface RoutesArtifact {
  routes: RouteSpec[];
}

interface ObservedRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  metric?: number;
  type?: string;
}

export function renderRoutes(config: Config): RoutesArtifact {
  const routes = (config.routes?.static ?? []).map((route): RouteSpec => {
    const prefix = parsePrefix(route.destination)!;
    const via = route.via ? parseAddress(route.via) : undefined;
    return {
      id: route.id,
      family: prefix.family,
      destination: formatPrefix(prefix),
      ...(via ? { via: formatAddress(via.family, via.value) } : {}),
      ...(route.interface ? { interface: route.interface } : {}),
      // IPv6 routes without a metric get 1024 from the kernel; say so up front.
      metric: route.metric ?? (prefix.family === 6 ? 1024 : 0),
      blackhole: route.blackhole === true,
    };
  });
  return { routes };
}

function key(r: { destination: string; metric: number }): string {
  return `${r.destination} metric ${r.metric}`;
}

/** A route by what the kernel holds (the id is the document's business: the config-level plan shows it). */
function describeRoute(r: RouteSpec): string {
  if (r.blackhole) return `route ${r.destination} blackhole metric ${r.metric} proto ${JUNCTION_ROUTE_PROTO}`;
  return `route ${r.destination}${r.via ? ` via ${r.via}` : ''}${r.interface ? ` dev ${r.interface}` : ''} metric ${r.metric} proto ${JUNCTION_ROUTE_PROTO}`;
}

function routeArgs(r: RouteSpec): string[] {
  const family = r.family === 6 ? ['-6'] : ['-4'];
  const target = r.blackhole
    ? ['blackhole', r.destination]
    : [r.destination, ...(r.via ? ['via', r.via] : []), ...(r.interface ? ['dev', r.interface] : [])];
  return [...family, 'route', 'replace', ...target, 'metric', String(r.metric), 'proto', JUNCTION_ROUTE_PROTO];
}

export class RoutesSubsystem implements Subsystem<RoutesArtifact> {
  readonly name = 'routes';
  constructor(private readonly runner: CommandRunner) {}

  statusReport(): Promise<Record<string, unknown>> {
    return routesStatus(this.runner);
  }

  verify(): Problem[] {
    return [];
  }

  render(config: Config): RoutesArtifact {
    return renderRoutes(config);
  }

  /** Every route by content, sorted: the order of the document's list means nothing to the kernel. */
  describe(artifact: RoutesArtifact): string[] {
    return artifact.routes.map(describeRoute).sort();
  }

  private async observe(): Promise<Map<string, ObservedRoute & { family: 4 | 6; destination: string; metricValue: number }>> {
    const result = new Map<string, ObservedRoute & { family: 4 | 6; destination: string; metricValue: number }>();
    for (const family of [4, 6] as const) {
      const out = await runChecked(this.runner, 'ip', [`-${family}`, '-j', 'route', 'show', 'table', 'main', 'proto', JUNCTION_ROUTE_PROTO]);
      for (const route of JSON.parse(out || '[]') as ObservedRoute[]) {
        const destination = route.dst === 'default' ? (family === 4 ? '0.0.0.0/0' : '::/0') : formatPrefix(parsePrefix(route.dst)!);
        const metricValue = route.metric ?? 0;
        result.set(key({ destination, metric: metricValue }), { ...route, family, destination, metricValue });
      }
    }
    return result;
  }

  async snapshot(): Promise<RoutesArtifact> {
    const routes = [...(await this.observe()).values()].map((r): RouteSpec => ({
      id: 'snapshot',
      family: r.family,
      destination: r.destination,
      ...(r.gateway ? { via: r.gateway } : {}),
      ...(r.dev && r.type !== 'blackhole' ? { interface: r.dev } : {}),
      metric: r.metricValue,
      blackhole: r.type === 'blackhole',
    }));
    return { routes };
  }

  private async actions(desired: RoutesArtifact): Promise<string[][]> {
    const observed = await this.observe();
    const adds: string[][] = [];
    const wanted = new Set<string>();
    for (const route of desired.routes) {
      const k = key(route);
      wanted.add(k);
      const current = observed.get(k);
      const same =
        current &&
        (route.blackhole
          ? current.type === 'blackhole'
          : current.type !== 'blackhole' && current.gateway === route.via && (!route.interface || current.dev === route.interface));
      if (!same) adds.push(['ip', ...routeArgs(route)]);
    }
    const deletes = [...observed.entries()]
      .filter(([k]) => !wanted.has(k))
      .map(([, r]) => ['ip', `-${r.family}`, 'route', 'del', ...(r.type === 'blackhole' ? ['blackhole'] : []), r.destination, 'metric', String(r.metricValue), 'proto', JUNCTION_ROUTE_PROTO]);
    return [...adds, ...deletes];
  }

  async drift(desired: RoutesArtifact): Promise<string[]> {
    return (await this.actions(desired)).map((a) => a.join(' '));
  }

  async apply(desired: RoutesArtifact): Promise<string[]> {
    const actions = await this.actions(desired);
    for (const [program, ...args] of actions) await runChecked(this.runner, program, args);
    return actions.map((a) => a.join(' '));
  }
}
