// The on-prem side of one IKE peer, as the mirror image of Junction's own
// definition: their local subnets are our remote subnets, their peer address
// is our local endpoint, the IKE identities are swapped, and the proposals,
// DPD, IKE version, PFS group and lifetimes are the same. Pure: no I/O.
import { X509Certificate } from 'node:crypto';
import type { Config } from '../../../model/schema.js';
import { VPN_DEFAULTS, type IkePeer, type VpnTunnel } from '../schema.js';
import { DEFAULT_ESP_PROPOSALS, DEFAULT_IKE_PROPOSALS, DEFAULT_IKEV1_PROPOSALS } from '../proposals.js';
import { RemoteConfigError } from './errors.js';
import { parseProposal, type Transforms } from './transforms.js';
import { assignReqids, tunnelKey } from '../reqid.js';


/** Shown instead of the PSK with include_secret=false. */
export const PSK_PLACEHOLDER = '<PRE-SHARED-KEY>';

export type RemoteAuth =
  | { method: 'psk'; psk: string; included: boolean }
  | {
      method: 'cert';
      /** Junction's own certificate: the on-prem side must trust its issuer */
      junctionCertificate: string;
      /** the CA Junction trusts: the on-prem gateway's certificate must be issued by it */
      junctionTrustsCa: string;
    };

export interface RemoteTunnel {
  name: string;
  /** on-prem networks = Junction's remote_subnets */
  localSubnets: string[];
  /** Junction's networks = Junction's local_subnets */
  remoteSubnets: string[];
  /** strongSwan syntax as Junction negotiates it (DH groups per pfs) */
  espProposals: string[];
  esp: Transforms[];
  /** DH group for PFS, or undefined when pfs is off */
  pfsGroups: number[];
  rekeyTimeS: number;
  /** fixed reqid for a strongSwan peer (see vpn/reqid.ts), distinct per tunnel */
  reqid: number;
  /** what the on-prem side should do: respond when Junction initiates */
  startAction: 'start' | 'trap' | 'none';
  dpdAction: 'restart' | 'clear' | 'trap' | 'none';
}

export interface RemoteSite {
  peerName: string;
  description?: string;
  ikeVersion: 1 | 2;
  /** the on-prem gateway's own address as Junction knows it (peer.remote) */
  localAddress: string;
  /** Junction's endpoint address */
  remoteAddress: string;
  localId: string;
  remoteId: string;
  auth: RemoteAuth;
  ikeProposals: string[];
  ike: Transforms[];
  ikeRekeyTimeS: number;
  dpdDelayS: number;
  dpdTimeoutS: number;
  forceEncap: boolean;
  tunnels: RemoteTunnel[];
}

export interface RemoteSiteOptions {
  /** put the PSK in the output (default true); false puts PSK_PLACEHOLDER there */
  includeSecret?: boolean;
}

const hostOf = (cidr: string): string => cidr.slice(0, cidr.indexOf('/'));

/** Junction's local endpoint: local_address, else the address of local_interface, else of the ccnn interface. */
export function junctionEndpoint(doc: Config, peer: IkePeer, peerPath: string): string {
  if (peer.local_address) return peer.local_address;
  const iface = peer.local_interface
    ? doc.interfaces.find((i) => i.name === peer.local_interface)
    : doc.interfaces.find((i) => i.role === 'ccnn');
  const which = peer.local_interface ? `interface "${peer.local_interface}"` : 'the ccnn interface';
  if (!iface) throw new RemoteConfigError(`${which} is not in the document, so Junction's endpoint address is unknown; set local_address`, `${peerPath}/${peer.local_interface ? 'local_interface' : 'local_address'}`);
  const wantV6 = peer.remote.includes(':');
  const address = (iface.addresses ?? []).map(hostOf).find((a) => a.includes(':') === wantV6);
  if (!address) {
    throw new RemoteConfigError(
      `${which} (${iface.name}) has no static IPv${wantV6 ? 6 : 4} address${iface.dhcp ? ' (it uses DHCP)' : ''}, so Junction's endpoint address is unknown; set local_address`,
      `${peerPath}/local_address`,
    );
  }
  return address;
}

function tunnelEspProposals(tunnel: VpnTunnel, ikeDefaultGroup: string, path: string): string[] {
  const proposals = tunnel.esp_proposals ?? DEFAULT_ESP_PROPOSALS;
  const pfs = tunnel.pfs ?? true;
  return proposals.map((proposal, i) => {
    const t = parseProposal(proposal, 'esp', `${path}/esp_proposals/${i}`);
    const tokens = proposal.split('-');
    const withoutDh = tokens.filter((tok) => !/^(modp|ecp|curve|x25519|x448)/.test(tok));
    if (!pfs) return withoutDh.join('-');
    // PFS on and no group given: the first IKE proposal's group, as charon would renegotiate it
    return t.dhGroups.length > 0 ? proposal : [...withoutDh, ikeDefaultGroup].join('-');
  });
}

/**
 * The on-prem charon's reqids for this peer's tunnels. The hash also covers
 * Junction's endpoint, so configs from two Junctions loaded into one gateway
 * do not land on the same values.
 */
function remoteReqids(junctionAddress: string, peer: IkePeer): Map<string, number> {
  const keys = peer.tunnels.map((t) => tunnelKey(peer.name, t.name));
  const assigned = assignReqids(keys.map((key) => `${junctionAddress} ${key}`));
  return new Map(keys.map((key) => [key, assigned.get(`${junctionAddress} ${key}`)!]));
}

/** Builds the mirror image of peer `name`. Throws RemoteConfigError when it cannot. */
export function buildRemoteSite(doc: Config, name: string, options: RemoteSiteOptions = {}): RemoteSite {
  const peers = doc.vpn?.peers ?? [];
  const index = peers.findIndex((p) => p.name === name);
  if (index < 0) throw new RemoteConfigError(`no IKE peer "${name}"`, '/vpn/peers');
  const peer = peers[index]!;
  const peerPath = `/vpn/peers/${index}`;
  const remoteAddress = junctionEndpoint(doc, peer, peerPath);
  const ikeProposals = peer.ike_proposals ?? ((peer.ike_version ?? 2) === 1 ? DEFAULT_IKEV1_PROPOSALS : DEFAULT_IKE_PROPOSALS);
  const ike = ikeProposals.map((p, i) => parseProposal(p, 'ike', `${peerPath}/ike_proposals/${i}`));
  const firstGroup = ikeProposals[0]!.split('-').find((tok) => /^(modp|ecp|curve|x25519|x448)/.test(tok))!;

  let auth: RemoteAuth;
  if (peer.auth.method === 'psk') {
    const include = options.includeSecret ?? true;
    auth = { method: 'psk', psk: include ? peer.auth.psk : PSK_PLACEHOLDER, included: include };
  } else {
    auth = { method: 'cert', junctionCertificate: peer.auth.certificate, junctionTrustsCa: peer.auth.ca };
  }

  const reqids = remoteReqids(remoteAddress, peer);
  const tunnels = peer.tunnels
    .map((tunnel, i) => ({ tunnel, path: `${peerPath}/tunnels/${i}` }))
    .filter(({ tunnel }) => tunnel.enabled !== false)
    .map(({ tunnel, path }): RemoteTunnel => {
      const espProposals = tunnelEspProposals(tunnel, firstGroup, path);
      const esp = espProposals.map((p, i) => parseProposal(p, 'esp', `${path}/esp_proposals/${i}`));
      const pfsGroups = [...new Set(esp.flatMap((t) => t.dhGroups))];
      const ours = tunnel.start_action ?? VPN_DEFAULTS.startAction;
      return {
        name: tunnel.name,
        localSubnets: [...tunnel.remote_subnets],
        remoteSubnets: [...tunnel.local_subnets],
        espProposals,
        esp,
        pfsGroups,
        rekeyTimeS: tunnel.rekey_time_s ?? VPN_DEFAULTS.childRekeyS,
        reqid: reqids.get(tunnelKey(peer.name, tunnel.name))!,
        // Junction initiates (start): the on-prem side installs a trap; Junction only responds (none): on-prem starts
        startAction: ours === 'none' ? 'start' : 'trap',
        dpdAction: tunnel.dpd_action ?? VPN_DEFAULTS.dpdAction,
      };
    });
  if (tunnels.length === 0) throw new RemoteConfigError(`IKE peer "${name}" has no enabled tunnel`, `${peerPath}/tunnels`);

  return {
    peerName: peer.name,
    ...(peer.description ? { description: peer.description } : {}),
    ikeVersion: peer.ike_version ?? 2,
    localAddress: peer.remote,
    remoteAddress,
    localId: peer.remote_id ?? peer.remote,
    // What Junction presents: its local_id, else (cert) its certificate's
    // subject DN, as charon does by default, else its address.
    remoteId: peer.local_id ?? (peer.auth.method === 'cert' ? certificateSubject(doc, peer.auth.certificate) : undefined) ?? remoteAddress,
    auth,
    ikeProposals,
    ike,
    ikeRekeyTimeS: peer.rekey_time_s ?? VPN_DEFAULTS.ikeRekeyS,
    dpdDelayS: peer.dpd_delay_s ?? VPN_DEFAULTS.dpdDelayS,
    dpdTimeoutS: peer.dpd_timeout_s ?? VPN_DEFAULTS.dpdTimeoutS,
    forceEncap: peer.nat_traversal === 'force',
    tunnels,
  };
}

/** A certificate's subject in strongSwan's DN syntax ("C=CH, O=Example, CN=gw"). */
function certificateSubject(doc: Config, name: string): string | undefined {
  const pem = doc.vpn?.certificates?.find((c) => c.name === name)?.certificate;
  if (!pem) return undefined;
  try {
    return new X509Certificate(pem).subject.split('\n').join(', ');
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- helpers for generators

export const isIpAddress = (value: string): boolean => /^[0-9.]+$/.test(value) || value.includes(':');
export const isDistinguishedName = (value: string): boolean => /^[A-Za-z]+=/.test(value) && value.includes('=');
export const isEmailId = (value: string): boolean => value.includes('@');

export type IdKind = 'address' | 'fqdn' | 'email' | 'dn';
export function idKind(id: string): IdKind {
  if (isDistinguishedName(id)) return 'dn';
  if (isIpAddress(id)) return 'address';
  if (isEmailId(id)) return 'email';
  return 'fqdn';
}

export function prefixToMask(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 255).join('.');
}

/** "10.1.0.0/24" -> ["10.1.0.0", "255.255.255.0"]; IPv4 only (callers reject IPv6 where a mask is needed). */
export function subnetAndMask(cidr: string, vendor: string, path: string): [string, string] {
  const [address, len] = cidr.split('/') as [string, string];
  if (address.includes(':')) throw new RemoteConfigError(`${vendor} output is generated for IPv4 selectors only; ${cidr} is IPv6`, path);
  return [address, prefixToMask(Number(len))];
}

/** Every (on-prem subnet, Junction subnet) pair of a tunnel, for vendors with one selector pair per entry. */
export function selectorPairs(tunnel: RemoteTunnel): Array<{ local: string; remote: string; index: number }> {
  const pairs: Array<{ local: string; remote: string; index: number }> = [];
  for (const local of tunnel.localSubnets) for (const remote of tunnel.remoteSubnets) pairs.push({ local, remote, index: pairs.length + 1 });
  return pairs;
}

export function header(site: RemoteSite, comment: string, vendorTitle: string): string[] {
  const lines = [
    `${comment} ${vendorTitle} configuration for the on-prem side of Junction IKE peer "${site.peerName}".`,
    `${comment} Generated by Junction from the same peer definition (mirror image): IKEv${site.ikeVersion},`,
    `${comment} this gateway ${site.localAddress} (id ${site.localId}) <-> Junction ${site.remoteAddress} (id ${site.remoteId}).`,
  ];
  if (site.description) lines.push(`${comment} Peer description: ${site.description}`);
  if (site.auth.method === 'psk') {
    lines.push(
      site.auth.included
        ? `${comment} Contains the pre-shared key in clear: store it like a password and delete it after use.`
        : `${comment} The pre-shared key is left out: replace ${PSK_PLACEHOLDER} with the PSK configured on Junction.`,
    );
  } else {
    lines.push(
      `${comment} Certificate authentication: Junction signs with its certificate "${site.auth.junctionCertificate}";`,
      `${comment} install the CA that issued it as trusted here. Junction accepts certificates issued by its CA`,
      `${comment} "${site.auth.junctionTrustsCa}": this gateway needs a certificate (with private key) from that CA for id ${site.localId}.`,
    );
  }
  return lines;
}
