// Port forwards and 1:1 NAT are DNAT in prerouting, before the input
// chain: a forward of TCP 8080 on the ccnn interface sends connections for
// the router's own API there to a VPC host instead. Legal, sometimes wanted,
// but never by accident: verify warns, naming the forward and what it hides.
import { parseAddressLiteral, rangesOverlap, type IpRange } from '../../model/ip.js';
import { routerAddresses, routerInterfaceOf } from '../../model/verify.js';
import type { Problem } from '../../model/problems.js';
import type { Config } from '../../model/schema.js';
import type { SelfService } from '../../../rules/index.js';
import { parsePortRange } from '../../../rules/resolve.js';
import { DEFAULT_API_PORT } from '../../../rules/filter-chains.js';

/**
 * The REST API as a self-service: TCP on the API port, on the interfaces of
 * the API zones, as the compiler opens it (rules/filter-chains.ts); none
 * when no interface is in an API zone.
 */
export function apiSelfService(config: Config, apiPort: number | undefined): SelfService[] {
  const ccnnZones = config.interfaces.filter((i) => i.role === 'ccnn').map((i) => i.zone);
  const zones = new Set(config.system?.api_zones ?? ccnnZones);
  const interfaces = config.interfaces.filter((i) => zones.has(i.zone)).map((i) => i.name);
  const port = config.system?.api_port ?? apiPort ?? DEFAULT_API_PORT;
  return interfaces.length ? [{ id: 'junction:api', interfaces, protocol: 'tcp', ports: [port] }] : [];
}

const describeService = (s: SelfService) =>
  `${s.id === 'junction:api' ? "the router's REST API" : s.id} (${s.protocol}${s.ports?.length ? `/${s.ports.join(',')}` : ''})`;

const isRouterAddress = (text: string, own: Map<string, string>) => routerInterfaceOf(text, own) !== undefined;

const onInterface = (service: SelfService, iface: string) => !service.interfaces?.length || service.interfaces.includes(iface);

/** False only when both sides name sources as literals and none overlap; object names count as overlapping. */
function sourcesMeet(service: SelfService, allowed: string[] | undefined): boolean {
  if (!service.sources?.length || !allowed?.length) return true;
  const theirs = service.sources.map(parseAddressLiteral);
  const ours = allowed.map(parseAddressLiteral);
  if (ours.some((r) => !r) || theirs.some((r) => !r)) return true;
  return (ours as IpRange[]).some((a) => (theirs as IpRange[]).some((b) => rangesOverlap(a, b)));
}

/** Warnings for every port forward or 1:1 NAT that captures a service of the router on its interface. */
export function shadowedSelfServices(config: Config, services: SelfService[]): Problem[] {
  const own = routerAddresses(config);
  const warnings: Problem[] = [];
  (config.nat?.port_forwards ?? []).forEach((fwd, i) => {
    // A forward for another (external) address leaves the router's own addresses alone.
    if (fwd.external_address && !isRouterAddress(fwd.external_address, own)) return;
    const ports = parsePortRange(fwd.port);
    if (!ports) return;
    for (const service of services) {
      if (!onInterface(service, fwd.interface) || (service.protocol !== fwd.protocol && service.protocol !== 'any')) continue;
      if (service.ports?.length && !service.ports.some((p) => p >= ports.first && p <= ports.last)) continue;
      if (!sourcesMeet(service, fwd.allowed_sources)) continue;
      warnings.push({
        path: `/nat/port_forwards/${i}/port`,
        message: `${fwd.protocol} ${fwd.port} on ${fwd.interface} is also ${describeService(service)}: this forward sends those connections to ${fwd.to_address} instead`,
        severity: 'warning',
      });
    }
  });
  (config.nat?.one_to_one ?? []).forEach((nat, i) => {
    if (!isRouterAddress(nat.external, own)) return;
    for (const service of services.filter((s) => onInterface(s, nat.interface))) {
      warnings.push({
        path: `/nat/one_to_one/${i}/external`,
        message: `${nat.external} is the router's own address, so this 1:1 NAT sends everything for it on ${nat.interface} to ${nat.internal}, including ${describeService(service)}`,
        severity: 'warning',
      });
    }
  });
  return warnings;
}
