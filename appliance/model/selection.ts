// Interfaces by role, not by kernel name. In a Pod or a Virtual Server the
// platform names the NICs (eth1, net1, ...), so a document may select an
// interface by MAC, by attach order or by the subnet of an address on it
// (`match`), and give it a name of its own ("vpc-a") that the rest of the
// document uses. This file is the pure part: which kernel interface each
// configured one gets (or why none, or why several), and the document with
// every interface reference rewritten to kernel names, which is what the
// subsystems verify and render. The reconciler does this in one place
// (prepare), with the kernel's interfaces that the links subsystem reads.
//
// What "index" means. Candidates are the interfaces a runtime or platform
// attaches (physical NICs such as SR-IOV VFs and virtio, veth, macvlan,
// ipvlan), sorted by kernel ifindex, counted from 0. The kernel hands out
// ifindexes in the order devices appear in the namespace, so:
// - Virtual Server: virtio NICs are probed in PCI order, which is the order
//   of spec.network.vpcs after the pod-network NIC, and it holds across
//   reboots. index 0 is the pod-network NIC, index N the N-th VPC (with
//   disableK8sNetworking: true, index 0 is the first VPC).
// - Pod: eth0 (the pod network, a veth) comes first; the VPC attachments
//   follow in the order the CNI creates them, but a device moved into the
//   Pod (an SR-IOV VF) keeps the ifindex it had on the node when that index
//   is free, so their order is the node's, not the annotation's. Select
//   VPCs in a Pod by subnet (the attachment's IPAM) or by MAC.
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Config, Interface } from './schema.js';
import type { Problem } from './problems.js';
import { INTERFACE_REFERENCE } from './primitives.js';
import { networkOf, parsePrefix, rangeContains } from './ip.js';

/** One kernel interface as the links subsystem reads it (`ip -d -j addr show`). */
export interface KernelInterface {
  name: string;
  ifindex?: number;
  mac?: string;
  /** `ip -d`'s linkinfo.info_kind: absent for a physical NIC */
  kind?: string;
  /** `ip`'s link_type: "ether", "loopback", "none" (TUN), ... */
  linkType?: string;
  /** "address/prefix" */
  addresses: string[];
}

/** Which kernel interface a configured interface got, and how. */
export interface InterfaceBinding {
  /** position in /interfaces */
  index: number;
  /** the document's name */
  name: string;
  /** the kernel's name */
  kernel: string;
  mac?: string;
  /** "name", or the criteria that selected it: "mac 52:54:00:12:34:56, subnet 10.1.0.0/24" */
  by: string;
}

/** What the plan and status show for an interface selected by match (kept on the bound interface). */
export interface Selected {
  /** the document's name for it */
  as: string;
  by: string;
  mac?: string;
}

export type BoundInterface = Interface & { selected?: Selected };

/** The kinds a runtime or platform attaches as a NIC; no kind is a physical device. */
const ATTACHED_KINDS = new Set(['veth', 'macvlan', 'ipvlan']);

/** The interfaces `match` chooses among, in attach (ifindex) order. */
export function candidates(kernel: KernelInterface[]): KernelInterface[] {
  return kernel
    .filter((k) => k.linkType === 'ether' && (k.kind === undefined || ATTACHED_KINDS.has(k.kind)))
    .sort((a, b) => (a.ifindex ?? 0) - (b.ifindex ?? 0));
}

export const normalMac = (mac: string): string => mac.toLowerCase().replaceAll('-', ':');

function inSubnet(subnet: string, address: string): boolean {
  const outer = parsePrefix(subnet);
  const inner = parsePrefix(address.split('/')[0]);
  return !!outer && !!inner && rangeContains(outer, inner);
}

/** Pure checks of the match criteria themselves (no live system needed). */
export function verifyMatches(interfaces: Interface[]): Problem[] {
  const problems: Problem[] = [];
  interfaces.forEach((iface, i) => {
    const subnet = iface.match?.subnet;
    if (subnet === undefined) return;
    const path = `/interfaces/${i}/match/subnet`;
    const prefix = parsePrefix(subnet);
    if (!prefix) return problems.push({ path, message: `"${subnet}" is not a network (e.g. 10.1.0.0/24)` });
    if (prefix.address !== prefix.first) problems.push({ path, message: `"${subnet}" has host bits set; the network is ${networkOf(subnet)}` });
    if (iface.dhcp) problems.push({ path, message: "Junction's DHCP client starts only once the interface is chosen, so its lease cannot choose it: select a DHCP interface by mac or index" });
    const own = iface.addresses ?? [];
    if (own.length && !own.some((a) => inSubnet(subnet, a))) {
      problems.push({ path, message: `none of this interface's addresses (${own.join(', ')}) is in ${subnet}: the first apply would remove the address that selected it, and the next could not find it` });
    }
  });
  return problems;
}

const describeKernel = (k: KernelInterface) => `${k.name}${k.mac ? ` (${k.mac}${k.addresses.length ? `, ${k.addresses.join(' ')}` : ''})` : ''}`;

/**
 * The kernel interface of every configured interface, or the problems (by
 * document path) that stop the commit before anything is applied: a match
 * that finds nothing or more than one interface, two configured interfaces
 * on one kernel interface, a name without match that the kernel lacks.
 */
export function selectInterfaces(interfaces: Interface[], kernel: KernelInterface[]): { bindings: InterfaceBinding[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const bindings: InterfaceBinding[] = [];
  const pool = candidates(kernel);
  const present = kernel.filter((k) => k.linkType !== 'loopback' && k.name !== 'lo');
  const found = (list: KernelInterface[]) => list.map(describeKernel).join(', ') || 'none';
  interfaces.forEach((iface, index) => {
    const base = `/interfaces/${index}`;
    const match = iface.match;
    if (!match) {
      const same = kernel.find((k) => k.name === iface.name);
      if (same) bindings.push({ index, name: iface.name, kernel: same.name, ...(same.mac ? { mac: same.mac } : {}), by: 'name' });
      else problems.push({ path: `${base}/name`, message: `no interface "${iface.name}" on this system (found: ${present.map((k) => k.name).join(', ') || 'none'})` });
      return;
    }
    let chosen = pool;
    const criteria: string[] = [];
    if (match.mac !== undefined) {
      const mac = normalMac(match.mac);
      chosen = chosen.filter((k) => k.mac !== undefined && normalMac(k.mac) === mac);
      criteria.push(`mac ${mac}`);
    }
    if (match.subnet !== undefined) {
      const subnet = match.subnet;
      chosen = chosen.filter((k) => k.addresses.some((a) => inSubnet(subnet, a)));
      criteria.push(`subnet ${subnet}`);
    }
    if (match.index !== undefined) {
      const at = pool[match.index];
      chosen = chosen.filter((k) => k === at);
      criteria.push(`index ${match.index}`);
    }
    const wanted = criteria.join(', ');
    if (chosen.length === 0) {
      problems.push({ path: `${base}/match`, message: `no interface has ${wanted} (candidates in attach order: ${found(pool)})` });
      return;
    }
    if (chosen.length > 1) {
      problems.push({ path: `${base}/match`, message: `${chosen.length} interfaces have ${wanted}: ${found(chosen)}; add a criterion (mac, index, subnet) that tells them apart` });
      return;
    }
    const [kernelIf] = chosen;
    const other = kernel.find((k) => k.name === iface.name);
    if (other && other !== kernelIf) {
      problems.push({ path: `${base}/name`, message: `"${iface.name}" is the kernel name of another interface here, but match selects ${kernelIf.name}: name the selected interface by its role (e.g. "${iface.role}-${index}") or fix the match` });
      return;
    }
    bindings.push({ index, name: iface.name, kernel: kernelIf.name, ...(kernelIf.mac ? { mac: kernelIf.mac } : {}), by: wanted });
  });
  const taken = new Map<string, InterfaceBinding>();
  for (const binding of bindings) {
    const first = taken.get(binding.kernel);
    if (!first) taken.set(binding.kernel, binding);
    else problems.push({ path: `/interfaces/${binding.index}${binding.by === 'name' ? '/name' : '/match'}`, message: `selects ${binding.kernel}, which /interfaces/${first.index} (${first.name}) already is` });
  }
  return { bindings, problems };
}

const isReference = (schema: TSchema): boolean => (schema as unknown as Record<symbol, unknown>)[INTERFACE_REFERENCE] === true;

/** Schemas that contain an interface reference somewhere below them (memoized: the schema is fixed). */
const referencing = new WeakMap<TSchema, boolean>();

function children(schema: TSchema): TSchema[] {
  return [
    ...Object.values((schema.properties ?? {}) as Record<string, TSchema>),
    ...Object.values((schema.patternProperties ?? {}) as Record<string, TSchema>),
    ...(schema.items && !Array.isArray(schema.items) ? [schema.items as TSchema] : []),
    ...((schema.anyOf ?? []) as TSchema[]),
    ...(typeof schema.additionalProperties === 'object' ? [schema.additionalProperties as TSchema] : []),
  ];
}

function mayReference(schema: TSchema): boolean {
  let known = referencing.get(schema);
  if (known === undefined) {
    referencing.set(schema, false); // a recursive schema ends here
    known = isReference(schema) || children(schema).some(mayReference);
    referencing.set(schema, known);
  }
  return known;
}

/** `value` with every marked string renamed; untouched subtrees are returned as they are. */
function rewrite(schema: TSchema, value: unknown, rename: Map<string, string>): unknown {
  if (!mayReference(schema)) return value;
  if (typeof value === 'string') return isReference(schema) ? rename.get(value) ?? value : value;
  if (schema.anyOf) {
    const branch = (schema.anyOf as TSchema[]).find((b) => Value.Check(b, value));
    return branch ? rewrite(branch, value, rename) : value;
  }
  if (Array.isArray(value)) {
    if (!schema.items) return value;
    const out = value.map((v) => rewrite(schema.items as TSchema, v, rename));
    return out.every((v, i) => v === value[i]) ? value : out;
  }
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  const properties = (schema.properties ?? {}) as Record<string, TSchema>;
  let out: Record<string, unknown> | undefined;
  for (const [key, child] of Object.entries(record)) {
    const sub = properties[key] ?? (typeof schema.additionalProperties === 'object' ? (schema.additionalProperties as TSchema) : undefined);
    if (!sub) continue;
    const next = rewrite(sub, child, rename);
    if (next !== child) (out ??= { ...record })[key] = next;
  }
  return out ?? value;
}

/**
 * The document the subsystems see: every interface reference (the fields
 * the schema marks, in the core sections and the subsystems' own) holds the
 * kernel name, and each interface selected by match carries `selected`
 * (its document name, the criteria, the MAC) for the plan and status.
 * Without match anywhere, and with every name a kernel name, this is the
 * document itself.
 */
export function bindInterfaces(schema: TSchema, config: Config, bindings: InterfaceBinding[]): Config {
  const renamed = bindings.filter((b) => b.kernel !== b.name || config.interfaces[b.index].match);
  if (!renamed.length) return config;
  const rename = new Map(bindings.filter((b) => b.kernel !== b.name).map((b) => [b.name, b.kernel]));
  const bound = rewrite(schema, config, rename) as Config;
  const interfaces = bound.interfaces.map((iface, i): BoundInterface => {
    const binding = renamed.find((b) => b.index === i);
    return binding ? { ...iface, selected: { as: binding.name, by: binding.by, ...(binding.mac ? { mac: binding.mac } : {}) } } : iface;
  });
  return { ...bound, interfaces };
}

/**
 * Selection and binding in one step, as the reconciler runs it. Without the
 * kernel's interfaces (a unit test's reconciler, a pure re-render) names
 * are taken as they are.
 */
export function selectAndBind(schema: TSchema, config: Config, kernel: KernelInterface[] | undefined): { bound: Config; bindings: InterfaceBinding[]; problems: Problem[] } {
  if (!kernel) return { bound: config, bindings: [], problems: [] };
  const { bindings, problems } = selectInterfaces(config.interfaces, kernel);
  return { bound: bindInterfaces(schema, config, bindings), bindings, problems };
}

/** Two selections that put every interface on the same NIC under the same kernel name. */
export const sameBindings = (a: InterfaceBinding[], b: InterfaceBinding[]): boolean =>
  a.length === b.length && a.every((x, i) => x.name === b[i].name && x.kernel === b[i].kernel && x.mac === b[i].mac);
