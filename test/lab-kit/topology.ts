// The lab as data: which namespaces exist, which veth pairs join them, which
// bridges make a flat L2 VPC, and the addressing plan. Pure: no I/O. Lab
// (lab.ts) turns this into `ip` commands; tests and the CLI read it to know
// which address lives where.
//
//   <p>-inet ── <p>-ccnn ── <p>-router ──vpc0── <p>-vpca (br0) ── <p>-a1, <p>-a2
//                                     └─vpc1── <p>-vpcb (br0) ── <p>-b1, <p>-b2
//   optional (onprem: true):
//   <p>-inet ──onprem0/wan0── <p>-onprem ──lan0/eth0── <p>-onprem-lan
//   <p>-router ──dx0/dx0── <p>-onprem                       (Direct Connect)
//   <p>-router ──dx1/dx1── <p>-onprem          (second link, dxLinks: 2)

export type LabRole =
  | 'inet'
  | 'ccnn'
  | 'router'
  | 'vpca'
  | 'vpcb'
  | 'a1'
  | 'a2'
  | 'b1'
  | 'b2'
  | 'onprem'
  | 'onprem-lan';

/**
 * Who puts an address, route or sysctl in place.
 * - `lab`: always, when the lab comes up (hosts, ccnn, internet, on-prem).
 * - `router`: Junction's own configuration owns it; the lab applies it only
 *   in plain-routing baseline mode (`plainRouting: true`).
 * - `baseline`: not part of the cloud model at all (return routes in ccnn so
 *   un-NATed VPC traffic comes back); applied only in plain-routing mode.
 */
export type Owner = 'lab' | 'router' | 'baseline';

/** The addressing plan. Fixed, so tests and documents can name addresses. */
export const addressing = {
  /** the "internet": a public host behind the cloud's pod network */
  internet: { subnet: '198.18.0.0/24', ccnnSide: '198.18.0.1', host: '198.18.0.2' },
  /** the cloud pod network (CCNN) as seen by Junction's ccnn0 */
  ccnn: { subnet: '100.64.0.0/24', gateway: '100.64.0.1', router: '100.64.0.2' },
  vpcs: {
    a: { subnet: '10.1.0.0/24', gateway: '10.1.0.1', routerIf: 'vpc0', hosts: { a1: '10.1.0.11', a2: '10.1.0.12' } },
    b: { subnet: '10.2.0.0/24', gateway: '10.2.0.1', routerIf: 'vpc1', hosts: { b1: '10.2.0.11', b2: '10.2.0.12' } },
  },
  /** the on-prem site (only with `onprem: true`) */
  onprem: {
    /** its WAN, reached across the internet namespace (the VPN path) */
    wanSubnet: '198.18.1.0/24',
    wanInetSide: '198.18.1.1',
    wan: '198.18.1.2',
    /** Direct Connect: a point-to-point link router dx0 <-> onprem dx0 */
    dxSubnet: '169.254.10.0/30',
    dxRouter: '169.254.10.1',
    dxOnprem: '169.254.10.2',
    /** the second Direct Connect link to the same site (`dxLinks: 2`): router dx1 <-> onprem dx1 */
    dx1Subnet: '169.254.10.4/30',
    dx1Router: '169.254.10.5',
    dx1Onprem: '169.254.10.6',
    lanSubnet: '192.168.50.0/24',
    lanGateway: '192.168.50.1',
    lanHost: '192.168.50.11',
  },
} as const;

export type VpcId = keyof typeof addressing.vpcs;
export type HostRole = 'a1' | 'a2' | 'b1' | 'b2' | 'onprem-lan';

export interface LabNamespace {
  role: LabRole;
  /** the real namespace name: `<prefix>-<role>` */
  name: string;
}

export interface LinkEnd {
  ns: LabRole;
  ifname: string;
  /** address with prefix length, e.g. "10.1.0.11/24" */
  address?: string;
  /** who assigns `address` */
  addressOwner?: Owner;
}

export interface VethLink {
  a: LinkEnd;
  b: LinkEnd;
  mtu: number;
}

export interface BridgeSpec {
  ns: LabRole;
  name: string;
  mtu: number;
  /** interfaces in `ns` enslaved to the bridge */
  ports: string[];
}

export interface RouteSpec {
  ns: LabRole;
  /** "default" or a prefix */
  to: string;
  via: string;
  owner: Owner;
}

export interface SysctlSpec {
  ns: LabRole;
  key: string;
  value: string;
  owner: Owner;
}

export interface TopologyOptions {
  prefix: string;
  /** one MTU for every VPC, or one per VPC; default 1500. Up to 9000. */
  mtu?: number | Partial<Record<VpcId, number>>;
  /** add the on-prem site (router ns + LAN host, VPN path and dx0) */
  onprem?: boolean;
  /** Direct Connect links to the on-prem site: 1 (dx0, default) or 2 (dx0 and dx1, for ECMP) */
  dxLinks?: 1 | 2;
}

export interface Topology {
  prefix: string;
  namespaces: LabNamespace[];
  links: VethLink[];
  bridges: BridgeSpec[];
  routes: RouteSpec[];
  sysctls: SysctlSpec[];
  mtu: Record<VpcId, number>;
  onprem: boolean;
}

export const DEFAULT_MTU = 1500;
export const MAX_MTU = 9000;
/** The fixed prefix of the demo lab (`npm run lab`). */
export const DEMO_PREFIX = 'jnlab';

const PREFIX_PATTERN = /^[a-z][a-z0-9]{1,15}$/;

/** The default per-run prefix: `jn<pid>`. */
export function defaultPrefix(pid: number = process.pid): string {
  return `jn${pid}`;
}

export function validatePrefix(prefix: string): string {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new Error(`lab prefix "${prefix}" must be 2-16 characters of [a-z0-9], starting with a letter`);
  }
  return prefix;
}

export function namespaceName(prefix: string, role: LabRole): string {
  return `${prefix}-${role}`;
}

function resolveMtu(mtu: TopologyOptions['mtu']): Record<VpcId, number> {
  const per = typeof mtu === 'number' ? { a: mtu, b: mtu } : { a: mtu?.a ?? DEFAULT_MTU, b: mtu?.b ?? DEFAULT_MTU };
  for (const [vpc, value] of Object.entries(per)) {
    if (!Number.isInteger(value) || value < 1280 || value > MAX_MTU) {
      throw new Error(`MTU for VPC ${vpc} must be an integer from 1280 to ${MAX_MTU}, got ${value}`);
    }
  }
  return per;
}

const len = (subnet: string): string => subnet.slice(subnet.indexOf('/'));

/** Builds the lab description for a prefix. */
export function buildTopology(options: TopologyOptions): Topology {
  const prefix = validatePrefix(options.prefix);
  const mtu = resolveMtu(options.mtu);
  const onprem = options.onprem ?? false;
  const { internet, ccnn, vpcs } = addressing;

  const roles: LabRole[] = ['inet', 'ccnn', 'router', 'vpca', 'vpcb', 'a1', 'a2', 'b1', 'b2'];
  const links: VethLink[] = [
    {
      a: { ns: 'inet', ifname: 'eth0', address: internet.host + len(internet.subnet), addressOwner: 'lab' },
      b: { ns: 'ccnn', ifname: 'inet0', address: internet.ccnnSide + len(internet.subnet), addressOwner: 'lab' },
      mtu: DEFAULT_MTU,
    },
    {
      a: { ns: 'ccnn', ifname: 'pod0', address: ccnn.gateway + len(ccnn.subnet), addressOwner: 'lab' },
      b: { ns: 'router', ifname: 'ccnn0', address: ccnn.router + len(ccnn.subnet), addressOwner: 'router' },
      mtu: DEFAULT_MTU,
    },
  ];
  const bridges: BridgeSpec[] = [];
  const routes: RouteSpec[] = [
    { ns: 'inet', to: 'default', via: internet.ccnnSide, owner: 'lab' },
    { ns: 'router', to: 'default', via: ccnn.gateway, owner: 'router' },
  ];
  const sysctls: SysctlSpec[] = [
    { ns: 'ccnn', key: 'net.ipv4.ip_forward', value: '1', owner: 'lab' },
    { ns: 'router', key: 'net.ipv4.ip_forward', value: '1', owner: 'router' },
  ];

  for (const vpc of ['a', 'b'] as const) {
    const plan = vpcs[vpc];
    const bridgeNs: LabRole = vpc === 'a' ? 'vpca' : 'vpcb';
    const bits = len(plan.subnet);
    links.push({
      a: { ns: 'router', ifname: plan.routerIf, address: plan.gateway + bits, addressOwner: 'router' },
      b: { ns: bridgeNs, ifname: 'rtr0' },
      mtu: mtu[vpc],
    });
    const ports = ['rtr0'];
    for (const [host, address] of Object.entries(plan.hosts) as Array<[HostRole, string]>) {
      links.push({
        a: { ns: host, ifname: 'eth0', address: address + bits, addressOwner: 'lab' },
        b: { ns: bridgeNs, ifname: host },
        mtu: mtu[vpc],
      });
      ports.push(host);
      routes.push({ ns: host, to: 'default', via: plan.gateway, owner: 'lab' });
    }
    bridges.push({ ns: bridgeNs, name: 'br0', mtu: mtu[vpc], ports });
    // Only for the plain-routing baseline: the cloud's pod network has no
    // route to a VPC, so VPC egress normally works only through Junction's NAT.
    routes.push({ ns: 'ccnn', to: plan.subnet, via: ccnn.router, owner: 'baseline' });
  }

  if (onprem) {
    const op = addressing.onprem;
    roles.push('onprem', 'onprem-lan');
    links.push(
      {
        a: { ns: 'inet', ifname: 'onprem0', address: op.wanInetSide + len(op.wanSubnet), addressOwner: 'lab' },
        b: { ns: 'onprem', ifname: 'wan0', address: op.wan + len(op.wanSubnet), addressOwner: 'lab' },
        mtu: DEFAULT_MTU,
      },
      {
        a: { ns: 'router', ifname: 'dx0', address: op.dxRouter + len(op.dxSubnet), addressOwner: 'router' },
        b: { ns: 'onprem', ifname: 'dx0', address: op.dxOnprem + len(op.dxSubnet), addressOwner: 'lab' },
        mtu: DEFAULT_MTU,
      },
      ...(options.dxLinks === 2
        ? [{
            a: { ns: 'router', ifname: 'dx1', address: op.dx1Router + len(op.dx1Subnet), addressOwner: 'router' },
            b: { ns: 'onprem', ifname: 'dx1', address: op.dx1Onprem + len(op.dx1Subnet), addressOwner: 'lab' },
            mtu: DEFAULT_MTU,
          } satisfies VethLink]
        : []),
      {
        a: { ns: 'onprem', ifname: 'lan0', address: op.lanGateway + len(op.lanSubnet), addressOwner: 'lab' },
        b: { ns: 'onprem-lan', ifname: 'eth0', address: op.lanHost + len(op.lanSubnet), addressOwner: 'lab' },
        mtu: DEFAULT_MTU,
      },
    );
    routes.push(
      { ns: 'onprem', to: 'default', via: op.wanInetSide, owner: 'lab' },
      { ns: 'onprem-lan', to: 'default', via: op.lanGateway, owner: 'lab' },
      // the pod network reaches the on-prem WAN through the internet host
      { ns: 'ccnn', to: op.wanSubnet, via: internet.host, owner: 'lab' },
    );
    sysctls.push(
      { ns: 'inet', key: 'net.ipv4.ip_forward', value: '1', owner: 'lab' },
      { ns: 'onprem', key: 'net.ipv4.ip_forward', value: '1', owner: 'lab' },
    );
  }

  return {
    prefix,
    namespaces: roles.map((role) => ({ role, name: namespaceName(prefix, role) })),
    links,
    bridges,
    routes,
    sysctls,
    mtu,
    onprem,
  };
}

/** Whether an item is put in place for the given mode. */
export function applies(owner: Owner, plainRouting: boolean): boolean {
  return owner === 'lab' || plainRouting;
}

