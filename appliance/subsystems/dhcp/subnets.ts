// The IPv4 subnets a served interface carries (its static addresses in the
// document), and which of them holds an address: verify checks ranges,
// gateways and reservations against them; render derives the netmask and
// the default gateway from them; status maps a lease to its interface.
import type { Config } from '../../model/schema.js';
import { formatAddress, parseAddress, parsePrefix, type Prefix } from '../../model/ip.js';

/** An interface's IPv4 address with its subnet. */
export interface ServedSubnet extends Prefix {
  /** the router's address as written, without the length: "10.1.0.1" */
  routerAddress: string;
}

export function interfaceSubnets(config: Config, name: string): ServedSubnet[] {
  const iface = config.interfaces.find((i) => i.name === name);
  return (iface?.addresses ?? []).flatMap((text) => {
    const prefix = parsePrefix(text);
    if (!prefix || prefix.family !== 4 || !text.includes('/')) return [];
    return [{ ...prefix, routerAddress: formatAddress(4, prefix.address) }];
  });
}

/** The subnet that holds an IPv4 address, if any. */
export function subnetHolding(subnets: ServedSubnet[], address: string): ServedSubnet | undefined {
  const parsed = parseAddress(address);
  if (parsed?.family !== 4) return undefined;
  return subnets.find((s) => s.first <= parsed.value && parsed.value <= s.last);
}

/** "255.255.255.0" for a /24. */
export function netmaskOf(subnet: Prefix): string {
  const ones = ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - subnet.length)) - 1n);
  return formatAddress(4, ones);
}

/** The address as a number, for range arithmetic (callers have checked it parses). */
export function ipv4Value(address: string): bigint {
  return parseAddress(address)?.value ?? -1n;
}
