// The `vpn` section rendered into what charon is told over VICI: one
// `load-conn` message per peer (its tunnels are the children), one
// `load-shared` per PSK peer, one `load-key` per local certificate, plus the
// data plane and charon's settings. renderVpn is pure and deterministic: the
// same document and capabilities give byte-identical messages (its digests
// are plain SHA-256 of content that holds no secret). describeVpn lists that
// content key by key for plans; the one per-process part is how it shows a
// secret: as a keyed digest whose key lives only in this process
// (model/secret-digest.ts), so a plan shows that a PSK or key changed while
// the digest gives an offline guess nothing to test against.
import { createHash } from 'node:crypto';
import type { Config } from '../../model/schema.js';
import { secretLabel } from '../../model/secret-digest.js';
import type { Capabilities } from '../../platform/capabilities.js';
import { section, ViciSection } from './vici/codec.js';
import type { Dataplane } from './dataplane.js';
import { VPN_DEFAULTS, type IkePeer, type VpnTunnel } from './schema.js';
import { DEFAULT_ESP_PROPOSALS, DEFAULT_IKE_PROPOSALS, DEFAULT_IKEV1_PROPOSALS, espProposalsWithPfs, firstDhGroup } from './proposals.js';
import { DEFAULT_VPN_ZONE, localAddressOf, peerLocalInterface } from './verify.js';
import { assignReqids, tunnelKey } from './reqid.js';

/** charon's routing table for libipsec routes (its default, 220). */
export const LIBIPSEC_ROUTING_TABLE = 220;
export const LIBIPSEC_INTERFACE = 'ipsec0';
export const XFRM_INTERFACE = 'xfrm0';
/** if_id joining the kernel path's SAs and policies to xfrm0. */
export const XFRM_IF_ID = 42;
/** iproute2 protocol of the routes the VPN driver installs (static routes use 77). */
export const VPN_ROUTE_PROTO = '78';

export interface VpnConnection {
  /** the peer's name: the VICI connection name */
  name: string;
  /** where the peer sits in the document */
  path: string;
  /** the body of load-conn: `{<name> = config}` */
  config: ViciSection;
  /** digest of the IKE part (everything but the children) */
  ikeDigest: string;
  /** digest per tunnel (child) */
  childDigests: Record<string, string>;
}

export interface VpnSecret {
  /** `psk-<peer>`: always given, so the secret can be unloaded */
  id: string;
  type: 'IKE';
  data: string;
  owners: string[];
  path: string;
}

export interface VpnKey {
  /** the certificate's name in /vpn/certificates */
  name: string;
  data: string;
  path: string;
}

export interface DataplaneDecision {
  dataplane: Dataplane;
  reason: string;
}

export interface VpnRoute {
  destination: string;
  dev: string;
  peer: string;
}

/**
 * Metric of the fail-closed routes: worse than any tunnel route (kernel path:
 * metric 0 / 1024 through xfrm0; libipsec: table 220, looked up before main),
 * so they decide only while the tunnel has no route, and then the remote
 * subnet is unreachable instead of following the default route out of NAT egress.
 */
export const FAIL_CLOSED_METRIC = 2_147_483_647;

/** An unreachable route for one remote subnet of a fail-closed tunnel. */
export interface FailClosedRoute {
  destination: string;
  family: 4 | 6;
  /** "peer/tunnel" of every tunnel that has this remote subnet */
  tunnels: string[];
}

export interface VpnArtifact {
  /** false: no enabled peer, charon is not needed */
  active: boolean;
  dataplane: DataplaneDecision;
  /** where decrypted traffic enters and leaves: a member of `zone` for the firewall */
  tunnelInterface: string;
  zone: string;
  charon: { dataplane: Dataplane; installRoutes: boolean; routingTable?: number };
  connections: VpnConnection[];
  secrets: VpnSecret[];
  keys: VpnKey[];
  /** kernel path only: routes to remote subnets through xfrm0 (libipsec: charon routes them into ipsec0, table 220) */
  routes: VpnRoute[];
  /** kernel path only: the XFRM interface to create */
  xfrmInterface?: { name: string; ifId: number; underlying: string };
  /** both paths: unreachable routes (proto 78, FAIL_CLOSED_METRIC) for the remote subnets of every fail-closed tunnel */
  failClosedRoutes: FailClosedRoute[];
}

export function chooseDataplane(config: Config, capabilities: Capabilities): DataplaneDecision {
  const forced = config.vpn?.dataplane;
  if (forced === 'xfrm' || forced === 'libipsec') return { dataplane: forced, reason: `forced by /vpn/dataplane` };
  return capabilities.xfrmEsp
    ? { dataplane: 'xfrm', reason: 'auto: the kernel has XFRM ESP' }
    : { dataplane: 'libipsec', reason: 'auto: the kernel has no XFRM ESP; strongSwan kernel-libipsec does ESP in userspace' };
}

export function tunnelInterfaceFor(dataplane: Dataplane): string {
  return dataplane === 'xfrm' ? XFRM_INTERFACE : LIBIPSEC_INTERFACE;
}

const enabledPeers = (config: Config): Array<{ peer: IkePeer; index: number }> =>
  (config.vpn?.peers ?? []).map((peer, index) => ({ peer, index })).filter(({ peer }) => peer.enabled !== false && peer.tunnels.some((t) => t.enabled !== false));

/**
 * Interfaces outside the document that belong to a firewall zone: the
 * tunnel interface is a member of vpn.zone (default "vpn") while any peer is
 * configured, so policies `from: vpn` / `to: vpn` decide tunnel traffic.
 */
export function vpnZoneMembers(config: Config, capabilities: Capabilities): Array<{ name: string; zone: string }> {
  if (!enabledPeers(config).length) return [];
  return [{ name: tunnelInterfaceFor(chooseDataplane(config, capabilities).dataplane), zone: config.vpn?.zone ?? DEFAULT_VPN_ZONE }];
}

/** Every tunnel of the document that fails closed (the default), enabled or not: a disabled tunnel's subnets stay off the other routes too. */
function failClosedTunnels(config: Config): Array<{ peer: IkePeer; tunnel: VpnTunnel }> {
  return (config.vpn?.peers ?? []).flatMap((peer) => peer.tunnels.filter((t) => t.fail_closed !== false).map((tunnel) => ({ peer, tunnel })));
}

export function failClosedRoutes(config: Config): FailClosedRoute[] {
  const byDestination = new Map<string, FailClosedRoute>();
  for (const { peer, tunnel } of failClosedTunnels(config)) {
    for (const destination of tunnel.remote_subnets) {
      const route = byDestination.get(destination) ?? { destination, family: destination.includes(':') ? 6 : 4, tunnels: [] };
      route.tunnels.push(`${peer.name}/${tunnel.name}`);
      byDestination.set(destination, route);
    }
  }
  return [...byDestination.values()];
}

/**
 * What the firewall needs to keep the remote subnets of fail-closed tunnels
 * inside the tunnel: those networks may be forwarded only out of the tunnel
 * interface, and are never source-NATed (rules/ compiles the rules).
 */
export function vpnTunnelOnly(config: Config, capabilities: Capabilities): { interface: string; networks: string[] } | undefined {
  const networks = failClosedRoutes(config).map((r) => r.destination);
  if (!networks.length) return undefined;
  return { interface: tunnelInterfaceFor(chooseDataplane(config, capabilities).dataplane), networks };
}

const seconds = (s: number) => `${s}s`;

/** The identity this side presents, when the document fixes it. */
export function localIdentity(config: Config, peer: IkePeer): string | undefined {
  if (peer.local_id) return peer.local_id;
  // cert: charon presents the certificate's subject DN
  if (peer.auth.method === 'cert') return undefined;
  return localAddressOf(config, peer);
}

/**
 * The identity the peer must prove. PSK: the remote address (or FQDN), so the
 * secret is bound to that peer. Cert: any identity the configured CA vouches
 * for (remote.cacerts), unless remote_id narrows it.
 */
export function remoteIdentity(peer: IkePeer): string | undefined {
  if (peer.remote_id) return peer.remote_id;
  return peer.auth.method === 'psk' ? peer.remote : undefined;
}

/**
 * A fixed reqid for every tunnel in the document, disabled ones included, so
 * enabling or disabling one moves no other (see reqid.ts for why).
 */
export function tunnelReqids(config: Config): Map<string, number> {
  return assignReqids((config.vpn?.peers ?? []).flatMap((peer) => peer.tunnels.map((t) => tunnelKey(peer.name, t.name))));
}

function childSection(tunnel: VpnTunnel, reqid: number, ikeProposals: string[], dataplane: Dataplane): ViciSection {
  const esp = espProposalsWithPfs(tunnel.esp_proposals ?? DEFAULT_ESP_PROPOSALS, tunnel.pfs ?? true, firstDhGroup(ikeProposals));
  return section([
    ['mode', 'tunnel'],
    ['local_ts', tunnel.local_subnets],
    ['remote_ts', tunnel.remote_subnets],
    // policies and SAs of this tunnel share it, and no other tunnel has it
    ['reqid', reqid],
    ['esp_proposals', esp],
    ['rekey_time', seconds(tunnel.rekey_time_s ?? VPN_DEFAULTS.childRekeyS)],
    ['start_action', tunnel.start_action ?? VPN_DEFAULTS.startAction],
    ['close_action', tunnel.close_action ?? VPN_DEFAULTS.closeAction],
    ['dpd_action', tunnel.dpd_action ?? VPN_DEFAULTS.dpdAction],
    ['if_id_in', dataplane === 'xfrm' ? XFRM_IF_ID : undefined],
    ['if_id_out', dataplane === 'xfrm' ? XFRM_IF_ID : undefined],
  ]);
}

/** A canonical text of a section (for digests): ordered, no secrets in it by construction. */
export function canonical(value: unknown): string {
  if (value instanceof ViciSection) return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (Buffer.isBuffer(value)) return JSON.stringify(value.toString('base64'));
  return JSON.stringify(value);
}

export const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

function connectionFor(config: Config, peer: IkePeer, index: number, dataplane: Dataplane, reqids: Map<string, number>): VpnConnection {
  const version = peer.ike_version ?? 2;
  const ikeProposals = peer.ike_proposals ?? (version === 1 ? DEFAULT_IKEV1_PROPOSALS : DEFAULT_IKE_PROPOSALS);
  const localAddress = localAddressOf(config, peer);
  const certs = new Map((config.vpn?.certificates ?? []).map((c) => [c.name, c]));
  const auth = peer.auth.method === 'psk' ? 'psk' : 'pubkey';
  const local = section([
    ['auth', auth],
    ['id', localIdentity(config, peer)],
    ['certs', peer.auth.method === 'cert' ? [certs.get(peer.auth.certificate)?.certificate ?? ''] : undefined],
  ]);
  const remote = section([
    ['auth', auth],
    ['id', remoteIdentity(peer)],
    ['cacerts', peer.auth.method === 'cert' ? [certs.get(peer.auth.ca)?.certificate ?? ''] : undefined],
  ]);
  const rekey = seconds(peer.rekey_time_s ?? VPN_DEFAULTS.ikeRekeyS);
  const ike: Array<[string, ViciSection | string | string[] | number | undefined]> = [
    ['version', version],
    ['local_addrs', localAddress ? [localAddress] : undefined],
    ['remote_addrs', [peer.remote]],
    ['proposals', ikeProposals],
    // IKEv1 cannot rekey an IKE SA; it re-authenticates instead
    [version === 1 ? 'reauth_time' : 'rekey_time', rekey],
    ['dpd_delay', seconds(peer.dpd_delay_s ?? VPN_DEFAULTS.dpdDelayS)],
    ['dpd_timeout', version === 1 ? seconds(peer.dpd_timeout_s ?? VPN_DEFAULTS.dpdTimeoutS) : undefined],
    ['encap', peer.nat_traversal === 'force' ? 'yes' : undefined],
    ['mobike', version === 2 ? 'no' : undefined],
    ['local', local],
    ['remote', remote],
  ];
  const tunnels = peer.tunnels.filter((t) => t.enabled !== false);
  const children = tunnels.map((t) => [t.name, childSection(t, reqids.get(tunnelKey(peer.name, t.name))!, ikeProposals, dataplane)] as const);
  const config_ = section([...ike, ['children', section(children)]]);
  const ikeDigest = digest(canonical(section(ike)));
  const childDigests = Object.fromEntries(children.map(([name, child]) => [name, digest(canonical(child))]));
  return { name: peer.name, path: `/vpn/peers/${index}`, config: config_, ikeDigest, childDigests };
}

export function renderVpn(config: Config, capabilities: Capabilities): VpnArtifact {
  const decision = chooseDataplane(config, capabilities);
  const dataplane = decision.dataplane;
  const peers = enabledPeers(config);
  const reqids = tunnelReqids(config);
  const connections = peers.map(({ peer, index }) => connectionFor(config, peer, index, dataplane, reqids));
  const secrets: VpnSecret[] = peers.flatMap(({ peer, index }) => {
    if (peer.auth.method !== 'psk') return [];
    const owners = [localIdentity(config, peer), remoteIdentity(peer)].filter((o): o is string => !!o);
    return [{ id: `psk-${peer.name}`, type: 'IKE' as const, data: peer.auth.psk, owners: [...new Set(owners)], path: `/vpn/peers/${index}/auth/psk` }];
  });
  const usedCerts = new Set(peers.flatMap(({ peer }) => (peer.auth.method === 'cert' ? [peer.auth.certificate] : [])));
  const keys: VpnKey[] = (config.vpn?.certificates ?? []).flatMap((cert, i) =>
    cert.private_key && usedCerts.has(cert.name) ? [{ name: cert.name, data: cert.private_key, path: `/vpn/certificates/${i}/private_key` }] : []);
  const kernel = dataplane === 'xfrm';
  const routes: VpnRoute[] = kernel
    ? peers.flatMap(({ peer }) => peer.tunnels.filter((t) => t.enabled !== false).flatMap((t) => t.remote_subnets.map((destination) => ({ destination, dev: XFRM_INTERFACE, peer: peer.name }))))
    : [];
  const underlying = peers.length ? peerLocalInterface(config, peers[0]!.peer) : undefined;
  return {
    active: peers.length > 0,
    dataplane: decision,
    tunnelInterface: tunnelInterfaceFor(dataplane),
    zone: config.vpn?.zone ?? DEFAULT_VPN_ZONE,
    // libipsec: charon routes remote subnets into its TUN device (table 220);
    // kernel: Junction routes them into xfrm0 itself
    charon: kernel ? { dataplane, installRoutes: false } : { dataplane, installRoutes: true, routingTable: LIBIPSEC_ROUTING_TABLE },
    connections,
    secrets,
    keys,
    routes: [...new Map(routes.map((r) => [r.destination, r])).values()],
    failClosedRoutes: failClosedRoutes(config),
    ...(kernel && underlying ? { xfrmInterface: { name: XFRM_INTERFACE, ifId: XFRM_IF_ID, underlying } } : {}),
  };
}

/** Nothing configured: charon stopped, nothing loaded. The state before the first VPN commit. */
export function inactiveVpnArtifact(): VpnArtifact {
  return {
    active: false,
    dataplane: { dataplane: 'libipsec', reason: 'no peers' },
    tunnelInterface: LIBIPSEC_INTERFACE,
    zone: DEFAULT_VPN_ZONE,
    charon: { dataplane: 'libipsec', installRoutes: true },
    connections: [],
    secrets: [],
    keys: [],
    routes: [],
    failClosedRoutes: [],
  };
}

const isPem = (value: string) => value.startsWith('-----BEGIN');

/** One VICI value as a plan shows it: lists joined, certificates (public) by their SHA-256. */
function shown(value: unknown): string {
  if (Array.isArray(value)) return value.map(shown).join(',');
  const text = Buffer.isBuffer(value) ? value.toString() : String(value);
  return isPem(text) ? `certificate sha256:${digest(text)}` : text;
}

/** Every key of a VICI section as `prefix key = value` lines, nested sections as `a.b`. */
function sectionLines(prefix: string, body: ViciSection, path = ''): string[] {
  return body.entries.flatMap(([key, value]) =>
    value instanceof ViciSection ? sectionLines(prefix, value, `${path}${key}.`) : [`${prefix}${path}${key} = ${shown(value)}`]);
}

/** A connection's load-conn content as plan lines: the IKE keys, then every key of each child. */
export function connectionLines(c: VpnConnection): string[] {
  const children = c.config.get('children');
  const ike = new ViciSection(c.config.entries.filter(([key]) => key !== 'children'));
  return [
    ...sectionLines(`conn ${c.name}: `, ike),
    ...(children instanceof ViciSection ? children.entries.flatMap(([tunnel, child]) => (child instanceof ViciSection ? sectionLines(`conn ${c.name} child ${tunnel}: `, child) : [])) : []),
  ];
}

/**
 * The artifact's whole content as plan lines: charon's settings, every key
 * of every connection and child that is loaded, each secret by id with a
 * keyed digest of its value, each private key likewise, and the kernel
 * path's interface and routes. Two artifacts that would be applied
 * differently describe differently.
 */
export function describeVpn(artifact: VpnArtifact): string[] {
  const failClosed = artifact.failClosedRoutes.map((r) => `route unreachable ${r.destination} metric ${FAIL_CLOSED_METRIC} proto ${VPN_ROUTE_PROTO} (fail closed: ${r.tunnels.join(', ')})`);
  if (!artifact.active) return failClosed;
  const { charon } = artifact;
  return [
    `vpn dataplane: ${artifact.dataplane.dataplane} (${artifact.dataplane.reason}); tunnel interface ${artifact.tunnelInterface} in zone ${artifact.zone}`,
    `charon: dataplane ${charon.dataplane}, install routes ${charon.installRoutes ? 'yes' : 'no'}${charon.routingTable !== undefined ? `, routing table ${charon.routingTable}` : ''}`,
    ...artifact.connections.flatMap(connectionLines),
    ...artifact.secrets.map((s) => `shared secret ${s.id}: type ${s.type}, owners ${s.owners.join(',')}, value ${secretLabel(s.data)}`),
    ...artifact.keys.map((k) => `private key for certificate ${k.name}: ${secretLabel(k.data)}`),
    ...(artifact.xfrmInterface ? [`interface ${artifact.xfrmInterface.name}: xfrm if_id ${artifact.xfrmInterface.ifId} dev ${artifact.xfrmInterface.underlying}`] : []),
    ...artifact.routes.map((r) => `route ${r.destination} dev ${r.dev} proto ${VPN_ROUTE_PROTO} (peer ${r.peer})`),
    ...failClosed,
  ];
}
