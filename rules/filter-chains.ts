// The base filter chains: forward (zero trust, dispatching interface pairs to
// policy chains with one verdict-map lookup), input (the router's own
// services and `to: self` policies), output, and MSS clamping.
import { SELF_ZONE, type FirewallPolicy } from '../appliance/model/schema.js';
import { parseAddressLiteral, type Family, type IpRange } from '../appliance/model/ip.js';
import type { CompileContext, SelfService } from './batch.js';
import { mergeRanges } from './elements.js';
import * as nft from './nft-json.js';
import { PROTOCOL_NUMBERS } from './resolve.js';
import { policyChainName } from './policy-chains.js';
import { emitTunnelOnlyForward } from './tunnel-only.js';

export const DEFAULT_API_PORT = 8080;
export const FLOWTABLE = 'ft';
const PING_RATE_PER_SECOND = 10;

/** Egress sources allowed out of an interface (from NAT egress with allow_forward). */
export interface EgressAllow {
  interface: string;
  ranges: IpRange[];
}

/** The document's interfaces plus the zone members other subsystems bring (e.g. the VPN tunnel interface). */
const zonedInterfaces = (ctx: CompileContext): Array<{ name: string; zone: string }> => [...ctx.config.interfaces, ...(ctx.options.zoneMembers ?? [])];
const zoneInterfaces = (ctx: CompileContext, zone: string) => zonedInterfaces(ctx).filter((i) => i.zone === zone).map((i) => i.name);

/**
 * Policies indexed by "from\nto". Unknown zones and a second policy for a
 * zone pair are verify's to report (appliance/model/verify.ts); the compiler
 * trusts verified input and keeps the first policy of a pair.
 */
function policiesByZones(ctx: CompileContext): Map<string, { policy: FirewallPolicy; index: number }> {
  const out = new Map<string, { policy: FirewallPolicy; index: number }>();
  ctx.config.firewall?.policies.forEach((policy, index) => {
    const key = `${policy.from}\n${policy.to}`;
    if (!out.has(key)) out.set(key, { policy, index });
  });
  return out;
}

export function emitFilterChains(ctx: CompileContext, egressAllow: EgressAllow[], tunnelOnly: Family[] = []): void {
  const { batch, config } = ctx;
  const policies = policiesByZones(ctx);
  const interfaces = config.interfaces;
  const established = nft.match(nft.ct('state'), ['established', 'related'], 'in');
  const invalid = nft.match(nft.ct('state'), 'invalid', 'in');

  // ---- forward ----
  batch.add('chains', nft.addChain('forward', { type: 'filter', hook: 'forward', prio: nft.PRIORITY.filter, policy: 'drop' }), 'junction:forward');
  // before the flowtable and established: a flow set up through the tunnel never continues on another path
  emitTunnelOnlyForward(ctx, tunnelOnly);
  if (ctx.options.flowtable && interfaces.length) {
    batch.add('chains', nft.addFlowtable(FLOWTABLE, interfaces.map((i) => i.name)), '/interfaces');
    batch.add('rules', nft.addRule('forward', 'junction:flowtable', [
      nft.match(nft.meta('l4proto'), { set: ['tcp', 'udp'] }),
      { flow: { op: 'add', flowtable: nft.setRef(FLOWTABLE) } },
    ]), 'junction:flowtable');
  }
  batch.add('rules', nft.addRule('forward', 'junction:established', [established, nft.counter(), nft.accept()]), 'junction:established');
  batch.add('rules', nft.addRule('forward', 'junction:invalid', [invalid, nft.counter(), nft.drop()]), 'junction:invalid');
  // Port forwards and 1:1 NAT are allowed by their existence.
  batch.add('rules', nft.addRule('forward', 'junction:dnat', [nft.match(nft.ct('status'), 'dnat', 'in'), nft.counter(), nft.accept()]), 'junction:dnat');

  for (const family of [4, 6] as Family[]) {
    const elem = egressAllow.flatMap((a) =>
      mergeRanges(a.ranges.filter((r) => r.family === family)).map((r) => nft.concat(a.interface, nft.addressValue(r))));
    if (!elem.length) continue;
    const set = `egress_allow${family === 6 ? '_6' : ''}`;
    batch.add('sets', nft.addSet({ name: set, type: ['ifname', nft.addrType(family)], interval: true, elem }), '/nat/egress');
    batch.add('rules', nft.addRule('forward', 'junction:nat-egress-forward', [
      nft.match(nft.concat(nft.meta('oifname'), nft.saddr(family)), nft.setRef(set)),
      nft.counter(), nft.accept(),
    ]), '/nat/egress');
    batch.elements += elem.length;
  }

  const zoneOf = new Map(config.zones.map((z) => [z.name, z]));
  const dispatch: unknown[] = [];
  const zoned = zonedInterfaces(ctx);
  for (const iif of zoned) {
    for (const oif of zoned) {
      const p = policies.get(`${iif.zone}\n${oif.zone}`);
      let verdict: unknown;
      if (p) verdict = nft.jump(policyChainName(p.policy.name));
      else if (iif.zone === oif.zone) verdict = nft.verdict(zoneOf.get(iif.zone)?.intra_zone ?? 'accept');
      else continue; // no policy: not in the map, falls to the zero-trust drop
      dispatch.push([nft.concat(iif.name, oif.name), verdict]);
    }
  }
  batch.add('sets', nft.addSet({ name: 'zone_dispatch', type: ['ifname', 'ifname'], map: 'verdict', elem: dispatch }), '/firewall/policies');
  batch.elements += dispatch.length;
  batch.add('rules', nft.addRule('forward', 'junction:zone-dispatch', [nft.vmap(nft.concat(nft.meta('iifname'), nft.meta('oifname')), 'zone_dispatch')]), '/firewall/policies');
  batch.add('rules', nft.addRule('forward', 'junction:zero-trust', [nft.counter(), nft.drop()]), 'junction:zero-trust');

  // ---- input ----
  batch.add('chains', nft.addChain('input', { type: 'filter', hook: 'input', prio: nft.PRIORITY.filter, policy: 'drop' }), 'junction:input');
  batch.add('rules', nft.addRule('input', 'junction:established', [established, nft.counter(), nft.accept()]), 'junction:established');
  batch.add('rules', nft.addRule('input', 'junction:invalid', [invalid, nft.counter(), nft.drop()]), 'junction:invalid');
  batch.add('rules', nft.addRule('input', 'junction:loopback', [nft.match(nft.meta('iif'), 'lo'), nft.accept()]), 'junction:loopback');
  // Without neighbour discovery IPv6 does not work at all, whatever the policy.
  batch.add('rules', nft.addRule('input', 'junction:icmpv6-nd', [
    nft.match(nft.payload('icmpv6', 'type'), { set: ['nd-router-solicit', 'nd-router-advert', 'nd-neighbor-solicit', 'nd-neighbor-advert'] }),
    nft.accept(),
  ]), 'junction:icmpv6-nd');
  if (config.system?.allow_ping !== false) {
    for (const proto of ['icmp', 'icmpv6']) {
      batch.add('rules', nft.addRule('input', 'junction:ping', [
        nft.match(nft.payload(proto, 'type'), 'echo-request'),
        nft.limitPerSecond(PING_RATE_PER_SECOND, 2 * PING_RATE_PER_SECOND),
        nft.accept(),
      ]), '/system/allow_ping');
    }
  }
  const apiZones = config.system?.api_zones ?? [...new Set(interfaces.filter((i) => i.role === 'ccnn').map((i) => i.zone))];
  const apiInterfaces = apiZones.flatMap((z) => zoneInterfaces(ctx, z));
  if (apiInterfaces.length) {
    const port = ctx.options.apiPort ?? config.system?.api_port ?? DEFAULT_API_PORT;
    batch.add('rules', nft.addRule('input', 'junction:api', [
      nft.match(nft.meta('iifname'), nft.anonSet(apiInterfaces)),
      nft.match(nft.payload('tcp', 'dport'), port),
      nft.counter(), nft.accept(),
    ]), '/system/api_zones');
  }
  emitSelfServices(ctx);
  const selfDispatch: unknown[] = [];
  const outDispatch: unknown[] = [];
  for (const { policy } of policies.values()) {
    if (policy.to === SELF_ZONE) {
      for (const name of zoneInterfaces(ctx, policy.from)) selfDispatch.push([name, nft.jump(policyChainName(policy.name))]);
    } else if (policy.from === SELF_ZONE) {
      for (const name of zoneInterfaces(ctx, policy.to)) outDispatch.push([name, nft.jump(policyChainName(policy.name))]);
    }
  }
  batch.add('sets', nft.addSet({ name: 'self_dispatch', type: 'ifname', map: 'verdict', elem: selfDispatch }), '/firewall/policies');
  batch.elements += selfDispatch.length;
  batch.add('rules', nft.addRule('input', 'junction:self-dispatch', [nft.vmap(nft.meta('iifname'), 'self_dispatch')]), '/firewall/policies');
  batch.add('rules', nft.addRule('input', 'junction:input-default', [nft.counter(), nft.drop()]), 'junction:input-default');

  // ---- output: the router's own traffic is trusted unless a `from: self` policy says otherwise ----
  batch.add('chains', nft.addChain('output', { type: 'filter', hook: 'output', prio: nft.PRIORITY.filter, policy: 'accept' }), 'junction:output');
  if (outDispatch.length) {
    batch.add('sets', nft.addSet({ name: 'self_out_dispatch', type: 'ifname', map: 'verdict', elem: outDispatch }), '/firewall/policies');
    batch.elements += outDispatch.length;
    batch.add('rules', nft.addRule('output', 'junction:self-out-dispatch', [nft.vmap(nft.meta('oifname'), 'self_out_dispatch')]), '/firewall/policies');
  }

  // ---- MSS clamping on forwarded SYNs, at mangle priority ----
  const clamped = interfaces.filter((i) => i.mss_clamp !== false).map((i) => i.name);
  if (clamped.length) {
    batch.add('chains', nft.addChain('mss_clamp', { type: 'filter', hook: 'forward', prio: nft.PRIORITY.mangle, policy: 'accept' }), 'junction:mss-clamp');
    const syn = nft.match({ '&': [nft.payload('tcp', 'flags'), ['syn', 'rst']] }, 'syn');
    const clamp = { mangle: { key: { 'tcp option': { name: 'maxseg', field: 'size' } }, value: { rt: { key: 'mtu' } } } };
    const directions = clamped.length === interfaces.length ? [undefined] : ['iifname', 'oifname'];
    for (const dir of directions) {
      const expr = dir ? [nft.match(nft.meta(dir), nft.anonSet(clamped)), syn, clamp] : [syn, clamp];
      batch.add('rules', nft.addRule('mss_clamp', 'junction:mss-clamp', expr), '/interfaces');
    }
  }
}

/** Input accepts for services of the router itself asked for by other subsystems. */
function emitSelfServices(ctx: CompileContext): void {
  ctx.options.selfServices?.forEach((service, i) => {
    const origin = `selfService:${service.id}`;
    const head: unknown[] = [];
    if (service.interfaces?.length) head.push(nft.match(nft.meta('iifname'), nft.anonSet(service.interfaces)));
    if (service.protocol !== 'any') {
      if (PROTOCOL_NUMBERS[service.protocol] === undefined) {
        ctx.problems.push({ path: `selfServices/${i}`, message: `unknown protocol "${service.protocol}"` });
        return;
      }
      head.push(nft.match(nft.meta('l4proto'), service.protocol === 'icmpv6' ? 'ipv6-icmp' : service.protocol));
    }
    if (service.ports?.length) head.push(nft.match(nft.payload('th', 'dport'), nft.anonSet(service.ports)));
    const bodies: unknown[][] = [];
    const replies: unknown[][] = [];
    if (service.sources?.length) {
      const ranges: IpRange[] = [];
      for (const s of service.sources) {
        const r = parseAddressLiteral(s);
        if (!r) { ctx.problems.push({ path: `selfServices/${i}`, message: `"${s}" is not an address literal` }); return; }
        ranges.push(r);
      }
      for (const family of [4, 6] as Family[]) {
        const mine = mergeRanges(ranges.filter((r) => r.family === family));
        if (!mine.length) continue;
        bodies.push([nft.match(nft.saddr(family), nft.anonSet(mine.map(nft.addressValue)))]);
        replies.push([nft.match(nft.daddr(family), nft.anonSet(mine.map(nft.addressValue)))]);
      }
    } else {
      bodies.push([]);
      replies.push([]);
    }
    for (const body of bodies) {
      ctx.batch.add('rules', nft.addRule('input', service.id, [...head, ...body, nft.counter(), nft.accept()] as nft.Statement[]), origin);
    }
    if (service.notrack) emitNotrack(ctx, service, bodies, replies, origin);
  });
}

/** Raw-priority chains that exempt a self-service's traffic from conntrack, both ways. */
function emitNotrack(ctx: CompileContext, service: SelfService, bodies: unknown[][], replies: unknown[][], origin: string): void {
  for (const [chain, hook, ifKey, portKey, matches] of [
    ['raw_prerouting', 'prerouting', 'iifname', 'dport', bodies],
    ['raw_output', 'output', 'oifname', 'sport', replies],
  ] as const) {
    if (!ctx.rawChains.has(chain)) {
      ctx.rawChains.add(chain);
      ctx.batch.add('chains', nft.addChain(chain, { type: 'filter', hook, prio: nft.PRIORITY.raw, policy: 'accept' }), `junction:${chain}`);
    }
    const head: unknown[] = [];
    if (service.interfaces?.length) head.push(nft.match(nft.meta(ifKey), nft.anonSet(service.interfaces)));
    if (service.protocol !== 'any') head.push(nft.match(nft.meta('l4proto'), service.protocol === 'icmpv6' ? 'ipv6-icmp' : service.protocol));
    if (service.ports?.length) head.push(nft.match(nft.payload('th', portKey), nft.anonSet(service.ports)));
    for (const body of matches) {
      ctx.batch.add('rules', nft.addRule(chain, `${service.id}:notrack`, [...head, ...body, { notrack: null }] as nft.Statement[]), origin);
    }
  }
}
