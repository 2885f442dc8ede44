// Fail-closed VPN subnets: the remote subnets of IPsec tunnels may leave the
// router only through the tunnel interface. While a tunnel is down its
// route is gone, and without these rules that traffic would follow the
// default route out of the NAT egress interface, unencrypted and
// masqueraded. The VPN subsystem passes the networks and the tunnel
// interface (CompileOptions.tunnelOnly); the routing side (unreachable
// routes) is the VPN subsystem's own.
import { parsePrefix, type Family, type IpRange } from '../appliance/model/ip.js';
import type { CompileContext } from './batch.js';
import { mergeRanges } from './elements.js';
import * as nft from './nft-json.js';

const ORIGIN = 'junction:vpn-fail-closed';
const setName = (family: Family) => `tunnel_only${family === 6 ? '_6' : ''}`;

/** The sets of tunnel-only networks per family (none: no rule at all). */
export function emitTunnelOnlySets(ctx: CompileContext): Family[] {
  const only = ctx.options.tunnelOnly;
  if (!only?.networks.length) return [];
  const ranges: IpRange[] = [];
  only.networks.forEach((text, i) => {
    const p = parsePrefix(text);
    if (p) ranges.push(p);
    else ctx.problems.push({ path: `tunnelOnly/networks/${i}`, message: `"${text}" is not a network` });
  });
  const families: Family[] = [];
  for (const family of [4, 6] as Family[]) {
    const elem = mergeRanges(ranges.filter((r) => r.family === family)).map(nft.addressValue);
    if (!elem.length) continue;
    ctx.batch.add('sets', nft.addSet({ name: setName(family), type: nft.addrType(family), interval: true, elem }), ORIGIN);
    ctx.batch.elements += elem.length;
    families.push(family);
  }
  return families;
}

/** First in forward: traffic to a tunnel-only network that is not leaving through the tunnel is dropped (counted). */
export function emitTunnelOnlyForward(ctx: CompileContext, families: Family[]): void {
  const tunnel = ctx.options.tunnelOnly?.interface;
  if (!tunnel) return;
  for (const family of families) {
    ctx.batch.add('rules', nft.addRule('forward', 'junction:vpn-fail-closed', [
      nft.match(nft.daddr(family), nft.setRef(setName(family))),
      nft.match(nft.meta('oifname'), tunnel, '!='),
      nft.counter(), nft.drop(),
    ]), ORIGIN);
  }
}

/** First in nat_postrouting: no source NAT of any kind for traffic to a tunnel-only network. */
export function emitTunnelOnlyNoNat(ctx: CompileContext, families: Family[]): void {
  for (const family of families) {
    ctx.batch.add('rules', nft.addRule('nat_postrouting', 'junction:vpn-no-nat', [
      nft.match(nft.daddr(family), nft.setRef(setName(family))),
      nft.counter(), { return: null },
    ]), ORIGIN);
  }
}
