// May Junction set the hostname? sethostname(2) renames the UTS namespace
// Junction runs in, and that may be the whole machine's: the lab runs
// `junction serve` under `ip netns exec`, which gives it a network namespace
// but leaves it in the machine's UTS namespace, so setting the hostname there
// would rename the CI machine. Decided once, from /proc, at start.
import { readlinkSync } from 'node:fs';

/**
 * The kernel gives its initial namespaces fixed inode numbers
 * (include/linux/proc_ns.h: PROC_UTS_INIT_INO, PROC_PID_INIT_INO), so "is
 * this the machine's own UTS namespace" needs no view of the machine's init.
 */
const INITIAL_UTS = 0xeffffffe;
const INITIAL_PID = 0xeffffffc;

export interface HostnameOwnership {
  settable: boolean;
  /** why, in words an operator can act on */
  reason: string;
}

/** The namespace links ("uts:[4026531838]") this decision reads; missing when unreadable. */
export interface NamespaceLinks {
  selfUts?: string;
  selfPid?: string;
  selfNet?: string;
  initNet?: string;
}

const inode = (link: string | undefined) => Number(/\[(\d+)\]/.exec(link ?? '')?.[1] ?? NaN);

/**
 * - a UTS namespace of its own (a container, a Pod without hostNetwork,
 *   `unshare --uts`): the hostname is Junction's alone;
 * - the machine's UTS, pid and network namespaces (a VM or a dedicated
 *   host): Junction is the machine, and the hostname is the appliance's;
 * - the machine's UTS namespace with another network or pid namespace (the
 *   lab's `ip netns exec`, a hostNetwork Pod, `docker --uts=host`): the
 *   hostname belongs to a machine Junction only shares; it is not set.
 */
export function decideHostnameOwnership(links: NamespaceLinks): HostnameOwnership {
  const uts = inode(links.selfUts);
  if (Number.isNaN(uts)) return { settable: false, reason: 'cannot tell whether Junction has a UTS namespace of its own (/proc/self/ns/uts is unreadable)' };
  if (uts !== INITIAL_UTS) return { settable: true, reason: 'Junction has a UTS namespace of its own (a container, or unshare --uts)' };
  const pid = inode(links.selfPid);
  const net = inode(links.selfNet);
  const initNet = inode(links.initNet);
  const advice = 'run Junction in its own UTS namespace (a container, or unshare --uts)';
  if (pid === INITIAL_PID && (Number.isNaN(net) || Number.isNaN(initNet))) {
    return { settable: false, reason: `Junction shares the machine's UTS namespace and cannot tell whether it is the machine (/proc/1/ns/net is unreadable): setting the hostname could rename the machine; ${advice}` };
  }
  if (pid === INITIAL_PID && net === initNet) {
    return { settable: true, reason: "Junction runs in the machine's own namespaces (a VM or a dedicated host): the machine is the appliance" };
  }
  const where = pid !== INITIAL_PID ? 'a pid namespace of its own' : 'a network namespace of its own (as under `ip netns exec`)';
  return { settable: false, reason: `Junction shares the machine's UTS namespace from ${where}: setting the hostname would rename the machine; ${advice}` };
}

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

export function probeHostnameOwnership(): HostnameOwnership {
  return decideHostnameOwnership({
    selfUts: readLink('/proc/self/ns/uts'),
    selfPid: readLink('/proc/self/ns/pid'),
    selfNet: readLink('/proc/self/ns/net'),
    initNet: readLink('/proc/1/ns/net'),
  });
}
