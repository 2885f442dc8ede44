// Meaning checks of the `vpn` section: every problem names its document
// path. Pure (certificates are parsed in memory, nothing is read or run).
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { Config } from '../../model/schema.js';
import type { Problem } from '../../model/problems.js';
import type { Capabilities } from '../../platform/capabilities.js';
import { parseAddress, parsePrefix, rangeContains, rangesOverlap, type IpRange } from '../../model/ip.js';
import { proposalProblem } from './proposals.js';
import type { IkePeer } from './schema.js';

export const DEFAULT_VPN_ZONE = 'vpn';

const TRAP_KEYS = ['start_action', 'close_action', 'dpd_action'] as const;
/** What charon's kernel-libipsec does with a trap policy: logs "could not find an outbound IPsec SA for reqid" and drops the packet. */
export const TRAP_ON_LIBIPSEC =
  '"trap" never brings a tunnel up on the libipsec data plane (charon drops the first packet instead of initiating: no outbound IPsec SA for the reqid); use "start" (Junction keeps the tunnel up) or "none"';

const isAddress = (text: string) => parseAddress(text) !== undefined;
/** A remote written with digits, dots and colons only must be an address; anything else is an FQDN. */
const looksLikeAddress = (text: string) => /^[0-9.]+$/.test(text) || text.includes(':');

/** The local interface a peer's IKE traffic uses: the one named, else the (first) ccnn interface. */
export function peerLocalInterface(config: Config, peer: IkePeer): string | undefined {
  return peer.local_interface ?? config.interfaces.find((i) => i.role === 'ccnn')?.name;
}

export function verifyVpn(config: Config, capabilities: Capabilities): Problem[] {
  const vpn = config.vpn;
  if (!vpn) return [];
  const problems: Problem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  const peers = vpn.peers;

  if (vpn.dataplane === 'xfrm' && !capabilities.xfrmEsp) {
    add('/vpn/dataplane', 'the kernel data plane needs XFRM ESP, which this kernel does not have; use "auto" or "libipsec"');
  }
  if (peers.length) {
    const zone = vpn.zone ?? DEFAULT_VPN_ZONE;
    if (!config.zones.some((z) => z.name === zone)) {
      add(vpn.zone ? '/vpn/zone' : '/zones', `the VPN zone "${zone}" must be declared in zones (tunnel traffic is in that zone for firewall policies)`);
    }
  }

  // ---- certificates ----
  const certificates = new Map<string, { index: number; isCa: boolean; hasKey: boolean }>();
  (vpn.certificates ?? []).forEach((cert, i) => {
    const base = `/vpn/certificates/${i}`;
    if (certificates.has(cert.name)) add(`${base}/name`, `duplicate certificate "${cert.name}"`);
    let x509: X509Certificate | undefined;
    try {
      x509 = new X509Certificate(cert.certificate);
    } catch (error) {
      add(`${base}/certificate`, `not a PEM X.509 certificate (${(error as Error).message})`);
    }
    if (cert.private_key !== undefined) {
      try {
        const key = createPrivateKey(cert.private_key);
        if (x509 && !x509.checkPrivateKey(key)) add(`${base}/private_key`, 'the private key does not belong to the certificate');
      } catch {
        // the key's own parse error may quote key material: say only that it failed
        add(`${base}/private_key`, 'not a PEM private key (PKCS#1, PKCS#8 or SEC1)');
      }
    }
    if (!certificates.has(cert.name)) certificates.set(cert.name, { index: i, isCa: x509?.ca ?? false, hasKey: cert.private_key !== undefined });
  });

  // ---- peers ----
  const connected: Array<{ range: IpRange; role: string; name: string; address: bigint }> = [];
  for (const iface of config.interfaces) {
    for (const text of iface.addresses ?? []) {
      const p = parsePrefix(text);
      if (p) connected.push({ range: p, role: iface.role, name: iface.name, address: p.address });
    }
  }
  // libipsec: charon routes each remote subnet into ipsec0 with a source
  // address taken from the local subnet, so that subnet must hold one of ours
  const libipsec = vpn.dataplane === 'libipsec' || (vpn.dataplane !== 'xfrm' && !capabilities.xfrmEsp);
  const peerNames = new Map<string, number>();
  const remotes = new Map<string, number>();
  const remoteSubnets: Array<{ range: IpRange; path: string; peer: string }> = [];
  peers.forEach((peer, i) => {
    const base = `/vpn/peers/${i}`;
    if (peerNames.has(peer.name)) add(`${base}/name`, `duplicate peer "${peer.name}" (also /vpn/peers/${peerNames.get(peer.name)})`);
    else peerNames.set(peer.name, i);

    if (looksLikeAddress(peer.remote) && !isAddress(peer.remote)) add(`${base}/remote`, `"${peer.remote}" is not an IP address`);
    const remoteKey = `${peer.remote.toLowerCase()} ${peer.local_address ?? ''}`;
    if (remotes.has(remoteKey)) add(`${base}/remote`, `peer /vpn/peers/${remotes.get(remoteKey)} already talks to ${peer.remote}; charon could not tell the two apart`);
    else remotes.set(remoteKey, i);

    const iface = peer.local_interface ? config.interfaces.find((x) => x.name === peer.local_interface) : undefined;
    if (peer.local_interface && !iface) add(`${base}/local_interface`, `no interface "${peer.local_interface}"`);
    if (!peer.local_interface && !peer.local_address && !config.interfaces.some((x) => x.role === 'ccnn')) {
      add(`${base}/local_interface`, 'no ccnn interface to default to; name the local interface or the local address');
    }
    if (peer.local_address !== undefined) {
      if (!isAddress(peer.local_address)) add(`${base}/local_address`, `"${peer.local_address}" is not an IP address`);
      else if (iface?.addresses?.length && !iface.addresses.some((a) => a.split('/')[0] === peer.local_address)) {
        add(`${base}/local_address`, `${peer.local_address} is not an address of ${iface.name}`);
      }
    }
    if (peer.auth.method === 'psk' && !peer.local_id && !localAddressOf(config, peer)) {
      add(`${base}/local_id`, 'the local address is not known in advance (DHCP); give local_id (the identity the peer expects with the PSK)');
    }
    if (peer.auth.method === 'cert') {
      const own = certificates.get(peer.auth.certificate);
      if (!own) add(`${base}/auth/certificate`, `no certificate "${peer.auth.certificate}" in /vpn/certificates`);
      else if (!own.hasKey) add(`${base}/auth/certificate`, `certificate "${peer.auth.certificate}" has no private_key; the local certificate needs one`);
      const ca = certificates.get(peer.auth.ca);
      if (!ca) add(`${base}/auth/ca`, `no certificate "${peer.auth.ca}" in /vpn/certificates`);
      else if (ca.hasKey) add(`${base}/auth/ca`, `"${peer.auth.ca}" carries a private key; the CA that signs the peer is given without one`);
      else if (!ca.isCa) add(`${base}/auth/ca`, `"${peer.auth.ca}" is not a CA certificate (basicConstraints CA:TRUE)`);
    }
    const version = peer.ike_version ?? 2;
    peer.ike_proposals?.forEach((text, j) => {
      const why = proposalProblem(text, 'ike', version);
      if (why) add(`${base}/ike_proposals/${j}`, why);
    });
    if (peer.dpd_timeout_s !== undefined && version === 2) add(`${base}/dpd_timeout_s`, 'dpd_timeout_s applies to IKEv1 only; IKEv2 declares a peer dead after its retransmissions time out');

    const tunnelNames = new Map<string, number>();
    peer.tunnels.forEach((tunnel, t) => {
      const tbase = `${base}/tunnels/${t}`;
      if (tunnelNames.has(tunnel.name)) add(`${tbase}/name`, `duplicate tunnel "${tunnel.name}" in peer "${peer.name}"`);
      else tunnelNames.set(tunnel.name, t);
      tunnel.esp_proposals?.forEach((text, j) => {
        const why = proposalProblem(text, 'esp', version);
        if (why) add(`${tbase}/esp_proposals/${j}`, why);
      });
      if (libipsec) for (const key of TRAP_KEYS) if (tunnel[key] === 'trap') add(`${tbase}/${key}`, TRAP_ON_LIBIPSEC);
      if (tunnel.fail_closed === false) {
        // kernel data plane: Junction routes the remote subnets into xfrm0 whether or not the
        // tunnel is up, and xfrm0 drops what no SA takes, so the opt-out changes nothing there
        problems.push({ path: `${tbase}/fail_closed`, severity: 'warning', message: libipsec
          ? `while tunnel "${tunnel.name}" is down, traffic to ${tunnel.remote_subnets.join(', ')} follows the other routes (e.g. the default route out of NAT egress), unencrypted`
          : `has no effect on the kernel data plane (xfrm): traffic to ${tunnel.remote_subnets.join(', ')} is routed into the XFRM interface (xfrm0) and dropped there while tunnel "${tunnel.name}" is down` });
      }
      const local: IpRange[] = [];
      tunnel.local_subnets.forEach((text, j) => {
        const path = `${tbase}/local_subnets/${j}`;
        const p = parsePrefix(text);
        if (!p) return add(path, `"${text}" is not a network (e.g. 10.1.0.0/24)`);
        if (p.address !== p.first) return add(path, `"${text}" has host bits set; write the network (e.g. ${text.split('/')[0]?.replace(/\.\d+$/, '.0')}/${p.length})`);
        if (!connected.some((c) => (c.role === 'vpc' || c.role === 'dx') && c.range.family === p.family && rangeContains(c.range, p))) {
          add(path, `${text} is not inside any vpc or dx interface subnet; a tunnel can only carry networks this router reaches`);
        } else if (libipsec && !connected.some((c) => c.range.family === p.family && c.address >= p.first && c.address <= p.last)) {
          add(path, `${text} holds none of this router's addresses; with the libipsec data plane charon routes the remote subnets with a source address from each local subnet (widen it to include e.g. the VPC gateway address)`);
        }
        local.push(p);
      });
      tunnel.remote_subnets.forEach((text, j) => {
        const path = `${tbase}/remote_subnets/${j}`;
        const p = parsePrefix(text);
        if (!p) return add(path, `"${text}" is not a network (e.g. 192.168.50.0/24)`);
        if (p.address !== p.first) return add(path, `"${text}" has host bits set`);
        const clash = connected.find((c) => c.range.family === p.family && rangesOverlap(c.range, p));
        if (clash) return add(path, `${text} overlaps ${clash.name}'s own subnet; traffic to it could not be routed into the tunnel`);
        const other = remoteSubnets.find((r) => r.range.family === p.family && rangesOverlap(r.range, p) && r.peer !== peer.name);
        if (other) return add(path, `${text} overlaps ${other.path} of peer "${other.peer}"; a remote network is reached through one peer`);
        const endpoint = parseAddress(peer.remote);
        if (tunnel.fail_closed !== false && endpoint && endpoint.family === p.family && endpoint.value >= p.first && endpoint.value <= p.last) {
          return add(path, `${text} holds the peer's own address ${peer.remote}; failing closed to it would cut off the IKE and ESP packets themselves`);
        }
        remoteSubnets.push({ range: p, path, peer: peer.name });
      });
      if (version === 1 && (tunnel.local_subnets.length > 1 || tunnel.remote_subnets.length > 1)) {
        add(`${tbase}/${tunnel.local_subnets.length > 1 ? 'local_subnets' : 'remote_subnets'}`, 'IKEv1 negotiates one subnet pair per tunnel (CHILD_SA); give each pair its own tunnel, or use IKEv2');
      }
    });
  });
  return problems;
}

/** The local endpoint address, when the document fixes it: local_address, else the interface's first address of the remote's family. */
export function localAddressOf(config: Config, peer: IkePeer): string | undefined {
  if (peer.local_address) return peer.local_address;
  const name = peerLocalInterface(config, peer);
  const iface = config.interfaces.find((i) => i.name === name);
  const v6 = peer.remote.includes(':');
  const address = (iface?.addresses ?? []).map((a) => a.split('/')[0]!).find((a) => a.includes(':') === v6);
  return address;
}
