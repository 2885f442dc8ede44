// NAT: port forwards and 1:1 in prerouting (dstnat), 1:1 then egress in
// postrouting (srcnat). Forwards are few, so one rule each keeps every rule
// traceable to its object; egress sources are anonymous interval sets.
// Interfaces, addresses, ports and snat's to_address are verify's to check
// (appliance/model/verify.ts): the compiler trusts verified input and only
// reports what needs resolving (objects, zones, address families).
import { parseAddress, type Family, type IpRange } from '../appliance/model/ip.js';
import type { CompileContext } from './batch.js';
import { mergeRanges } from './elements.js';
import type { EgressAllow } from './filter-chains.js';
import * as nft from './nft-json.js';
import { parsePortRange } from './resolve.js';
import { emitTunnelOnlyNoNat } from './tunnel-only.js';

const natTarget = (family: Family, addr: string, port?: number) =>
  ({ family: nft.nfFamily(family), addr, ...(port === undefined ? {} : { port }) });

/** Emits the NAT chains; returns the sources that NAT egress also allows to be forwarded. */
export function emitNatChains(ctx: CompileContext, tunnelOnly: Family[] = []): EgressAllow[] {
  const { batch, config, problems, resolver } = ctx;
  const nat = config.nat;

  batch.add('chains', nft.addChain('nat_prerouting', { type: 'nat', hook: 'prerouting', prio: nft.PRIORITY.dstnat, policy: 'accept' }), 'junction:nat-prerouting');
  batch.add('chains', nft.addChain('nat_postrouting', { type: 'nat', hook: 'postrouting', prio: nft.PRIORITY.srcnat, policy: 'accept' }), 'junction:nat-postrouting');
  emitTunnelOnlyNoNat(ctx, tunnelOnly);

  nat?.port_forwards?.forEach((pf, i) => {
    const path = `/nat/port_forwards/${i}`;
    const to = parseAddress(pf.to_address);
    const ports = parsePortRange(pf.port);
    const external = pf.external_address === undefined ? undefined : parseAddress(pf.external_address);
    if (!to || !ports || (pf.external_address !== undefined && !external)) return;
    if (external && external.family !== to.family) {
      problems.push({ path: `${path}/external_address`, message: 'external_address and to_address are of different IP families' });
      return;
    }
    const expr: nft.Statement[] = [nft.match(nft.meta('iifname'), pf.interface)];
    if (external) expr.push(nft.match(nft.daddr(to.family), pf.external_address));
    if (pf.allowed_sources?.length) {
      const ranges: IpRange[] = [];
      let ok = true;
      pf.allowed_sources.forEach((ref, j) => {
        const r = resolver.address(ref, `${path}/allowed_sources/${j}`);
        if (r) ranges.push(...r);
        else ok = false;
      });
      if (!ok) return;
      const mine = mergeRanges(ranges.filter((r) => r.family === to.family));
      if (!mine.length) {
        problems.push({ path: `${path}/allowed_sources`, message: `no allowed source is of the IP family of to_address ${pf.to_address}` });
        return;
      }
      expr.push(nft.match(nft.saddr(to.family), nft.anonSet(mine.map(nft.addressValue))));
    } else {
      // Without an address match nothing pins the family; dnat needs one.
      expr.push(nft.match(nft.meta('nfproto'), to.family === 4 ? 'ipv4' : 'ipv6'));
    }
    expr.push(
      nft.match(nft.meta('l4proto'), pf.protocol),
      nft.match(nft.payload('th', 'dport'), nft.numberRange(ports.first, ports.last)),
      nft.counter(),
      { dnat: natTarget(to.family, pf.to_address, pf.to_port) },
    );
    batch.add('rules', nft.addRule('nat_prerouting', pf.id, expr), path);
  });

  const oneToOne: { id: string; path: string; iface: string; family: Family; external: string; internal: string }[] = [];
  nat?.one_to_one?.forEach((o, i) => {
    const path = `/nat/one_to_one/${i}`;
    const ext = parseAddress(o.external);
    const int = parseAddress(o.internal);
    if (!ext || !int) return;
    if (ext.family !== int.family) {
      problems.push({ path, message: 'external and internal are of different IP families' });
      return;
    }
    oneToOne.push({ id: o.id, path, iface: o.interface, family: ext.family, external: o.external, internal: o.internal });
  });
  for (const o of oneToOne) {
    batch.add('rules', nft.addRule('nat_prerouting', o.id, [
      nft.match(nft.meta('iifname'), o.iface),
      nft.match(nft.daddr(o.family), o.external),
      nft.counter(),
      { dnat: natTarget(o.family, o.internal) },
    ]), o.path);
  }
  // 1:1 first, so a host with its own public address is not masqueraded.
  for (const o of oneToOne) {
    batch.add('rules', nft.addRule('nat_postrouting', o.id, [
      nft.match(nft.meta('oifname'), o.iface),
      nft.match(nft.saddr(o.family), o.internal),
      nft.counter(),
      { snat: natTarget(o.family, o.external) },
    ]), o.path);
  }

  const allow: EgressAllow[] = [];
  nat?.egress?.forEach((egress, i) => {
    const path = `/nat/egress/${i}`;
    const ranges: IpRange[] = [];
    let ok = true;
    egress.sources.forEach((ref, j) => {
      const r = resolver.addressOrZone(ref, `${path}/sources/${j}`);
      if (r) ranges.push(...r);
      else ok = false;
    });
    if (!ok) return;
    const mode = egress.mode ?? 'masquerade';
    let families: Family[] = [4, 6];
    let snatTo: { family: Family } | undefined;
    if (mode === 'snat') {
      snatTo = egress.to_address === undefined ? undefined : parseAddress(egress.to_address);
      if (!snatTo) return;
      families = [snatTo.family];
    }
    let emitted = 0;
    for (const family of families) {
      const mine = mergeRanges(ranges.filter((r) => r.family === family));
      if (!mine.length) continue;
      emitted++;
      batch.add('rules', nft.addRule('nat_postrouting', egress.id, [
        nft.match(nft.meta('oifname'), egress.interface),
        nft.match(nft.saddr(family), nft.anonSet(mine.map(nft.addressValue))),
        nft.counter(),
        snatTo ? { snat: natTarget(family, egress.to_address!) } : { masquerade: null },
      ]), path);
    }
    if (!emitted && ranges.length) {
      problems.push({ path: `${path}/sources`, message: `no source is of the IP family of to_address ${egress.to_address}` });
    }
    if (egress.allow_forward !== false) allow.push({ interface: egress.interface, ranges });
  });
  return allow;
}
