// How many IKE_SAs and CHILD_SAs one charon holds for a connection, read
// over its VICI socket (Junction's or the on-prem gateway's): the lab tests
// assert exactly one IKE_SA per peer and one CHILD_SA per tunnel on both
// sides once events (DPD, a peer reboot) have settled.
import { ViciClient } from '../../../appliance/subsystems/vpn/vici/index.js';
import { childSas } from '../../../appliance/subsystems/vpn/status.js';
import { sleep } from '../../../appliance/platform/sleep.js';
import { waitFor } from '../../lab-kit/wait.js';

export interface SaCounts {
  ike: number;
  /** CHILD_SAs per tunnel (child) name, in any state */
  children: Record<string, number>;
}

export async function saCounts(socket: string, conn: string): Promise<SaCounts> {
  const client = await ViciClient.connect(socket);
  try {
    const mine = (await client.listSas({ ike: conn })).filter((s) => s.name === conn);
    const children: Record<string, number> = {};
    for (const { tunnel } of mine.flatMap((s) => childSas(s.value))) children[tunnel] = (children[tunnel] ?? 0) + 1;
    return { ike: mine.length, children };
  } finally {
    client.close();
  }
}

/**
 * Waits (bounded) until each side holds exactly one IKE_SA for its connection
 * and one CHILD_SA per tunnel, then checks again after `holdMs` so a second
 * SA that a late DPD or INITIAL_CONTACT would bring is seen too. Returns the
 * counts of the last look; the caller asserts them.
 */
export async function settledSaCounts(sides: Array<{ socket: string; conn: string }>, tunnels: string[], timeoutMs: number, holdMs: number): Promise<SaCounts[]> {
  const exact = (c: SaCounts) => c.ike === 1 && tunnels.every((t) => c.children[t] === 1);
  const look = () => Promise.all(sides.map((s) => saCounts(s.socket, s.conn)));
  await waitFor(`one IKE_SA and one CHILD_SA per tunnel (${tunnels.join(', ')}) on each side`, async () => ((await look()).every(exact) ? true : undefined), timeoutMs, 500).catch(() => undefined);
  await sleep(holdMs);
  return look();
}
