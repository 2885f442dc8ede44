// Fixed reqids for CHILD_SAs. libipsec (and XFRM) pick a packet's outbound
// SA by the reqid of the policy it matched, so two tunnels must never share
// a reqid. strongSwan before 5.9.12 can make them share one when DPD
// restarts an IKE_SA with several CHILD_SAs: the restarted children ask for
// their old, already released reqids back, and the second one is handed the
// reqid the first just took (strongswan/strongswan#1855, fixed upstream in
// 5.9.12 by 80e27fe9fd and c2a4c8e38a). A configured reqid is never
// allocated, so each tunnel keeps its own.
//
// A tunnel's reqid comes from a hash of its key alone, so adding, removing
// or reordering other tunnels leaves it unchanged (and charon does not
// re-key it). Only a hash collision moves the later key (in sorted order)
// to the next free value; with ~2^31 values that takes thousands of tunnels
// to become likely.
import { createHash } from 'node:crypto';

/** Above every reqid charon hands out itself (it counts up from 1), so a dynamic one cannot collide. */
export const REQID_MIN = 0x0100_0000;
/** Below 2^31, for tools that print reqids as signed numbers. */
export const REQID_MAX = 0x7fff_ffff;
const SPAN = REQID_MAX - REQID_MIN + 1;

/** Where a key's reqid lands unless another key got there first. */
export function reqidSlot(key: string): number {
  return REQID_MIN + (createHash('sha256').update(key).digest().readUInt32BE(0) % SPAN);
}

/** The value probed after `reqid` when it is taken: the next one, wrapping around. */
export const nextReqid = (reqid: number): number => (reqid === REQID_MAX ? REQID_MIN : reqid + 1);

/** One distinct reqid per key; each depends only on its key, unless hashes collide. */
export function assignReqids(keys: Iterable<string>): Map<string, number> {
  const assigned = new Map<string, number>();
  const used = new Set<number>();
  for (const key of [...new Set(keys)].sort()) {
    let reqid = reqidSlot(key);
    while (used.has(reqid)) reqid = nextReqid(reqid);
    used.add(reqid);
    assigned.set(key, reqid);
  }
  return assigned;
}

/** The key of a Junction tunnel: peer and tunnel names cannot contain "/". */
export const tunnelKey = (peer: string, tunnel: string): string => `${peer}/${tunnel}`;
