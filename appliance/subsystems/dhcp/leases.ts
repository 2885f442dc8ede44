// dnsmasq's lease file, parsed: one line per IPv4 lease, "<expiry epoch
// seconds, 0 = infinite> <mac> <address> <hostname or *> <client id or *>"
// (dnsmasq rewrites the whole file on every change). DHCPv6 lines (after a
// "duid" line) are skipped: Junction serves DHCPv4 only. Lines that do not
// parse are counted, not guessed at. The interface of a lease is the served
// interface whose subnet holds the address.
import { parseAddress } from '../../model/ip.js';

export interface DhcpLease {
  address: string;
  mac: string;
  hostname?: string;
  client_id?: string;
  /** ISO time, or "never" for an infinite lease */
  expires: string;
  /** the served interface whose subnet holds the address, when known */
  interface?: string;
}

export interface ParsedLeases {
  leases: DhcpLease[];
  /** lines that were not leases dnsmasq writes */
  unreadable: number;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function parseLeaseFile(text: string, interfaceOf: (address: string) => string | undefined = () => undefined): ParsedLeases {
  const leases: DhcpLease[] = [];
  let unreadable = 0;
  let inV6 = false;
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === '') continue;
    if (fields[0] === 'duid') {
      inV6 = true;
      continue;
    }
    if (inV6) continue;
    const [expiry, mac, address, hostname, clientId] = fields;
    const seconds = Number(expiry);
    if (fields.length < 4 || !Number.isInteger(seconds) || seconds < 0 || !MAC.test(mac ?? '') || parseAddress(address ?? '')?.family !== 4) {
      unreadable++;
      continue;
    }
    const iface = interfaceOf(address!);
    leases.push({
      address: address!,
      mac: mac!.toLowerCase(),
      ...(hostname && hostname !== '*' ? { hostname } : {}),
      ...(clientId && clientId !== '*' ? { client_id: clientId } : {}),
      expires: seconds === 0 ? 'never' : new Date(seconds * 1000).toISOString(),
      ...(iface ? { interface: iface } : {}),
    });
  }
  leases.sort((a, b) => Number((parseAddress(a.address)?.value ?? 0n) - (parseAddress(b.address)?.value ?? 0n)));
  return { leases, unreadable };
}
