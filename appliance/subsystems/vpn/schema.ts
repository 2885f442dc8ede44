// The `vpn` section of the configuration document: IKE peers (one IKE_SA
// each, to an on-prem firewall) with their tunnels (CHILD_SAs), plus the
// certificates they use. Shape only; meaning is checked in vpn/verify.ts.
import { Type, type Static } from '@sinclair/typebox';
import { interfaceReference, IpAddress, Masked, Name, Network } from '../../model/primitives.js';

/** Peer and tunnel names become VICI connection/child names and nft comments. */
const VpnName = Type.String({
  pattern: '^[A-Za-z][A-Za-z0-9_-]{0,31}$',
  description: 'letters, digits, "_" and "-", starting with a letter, at most 32 characters',
});
const Remote = Type.String({
  pattern: '^[A-Za-z0-9.:-]{1,253}$',
  description: 'IPv4/IPv6 address or FQDN of the on-prem gateway',
});
const Subnet = Network;
const IkeIdentity = Type.String({ minLength: 1, maxLength: 255, pattern: '^[^"\\n\\r]*$', description: 'IKE identity: address, FQDN, user@FQDN or an X.509 DN' });

/** strongSwan proposal syntax, e.g. aes256gcm16-prfsha384-ecp384 or aes256-sha256-modp2048. */
const Proposal = Type.String({ pattern: '^[a-z0-9]+(-[a-z0-9]+)*$', maxLength: 128 });

export const DpdAction = Type.Union([Type.Literal('restart'), Type.Literal('clear'), Type.Literal('trap'), Type.Literal('none')]);

export const VpnTunnel = Type.Object(
  {
    name: VpnName,
    local_subnets: Type.Array(Subnet, { minItems: 1, maxItems: 64, description: 'local traffic selectors; must lie in a local (vpc/dx) subnet' }),
    remote_subnets: Type.Array(Subnet, { minItems: 1, maxItems: 64, description: 'remote traffic selectors; routes to them go through the tunnel' }),
    start_action: Type.Optional(Type.Union([Type.Literal('start'), Type.Literal('trap'), Type.Literal('none')], { description: 'default start' })),
    close_action: Type.Optional(Type.Union([Type.Literal('start'), Type.Literal('trap'), Type.Literal('none')], { description: 'default start (bring it back)' })),
    dpd_action: Type.Optional(DpdAction),
    esp_proposals: Type.Optional(Type.Array(Proposal, { minItems: 1, maxItems: 16, description: 'default aes256gcm16-ecp256, aes128gcm16-ecp256, aes256-sha256-modp2048' })),
    pfs: Type.Optional(Type.Boolean({ description: 'add a DH group to the ESP proposals (default true)' })),
    rekey_time_s: Type.Optional(Type.Integer({ minimum: 60, maximum: 86_400, description: 'CHILD_SA rekey (default 3600)' })),
    fail_closed: Type.Optional(Type.Boolean({
      description: 'default true: traffic to remote_subnets only ever leaves through the tunnel (an unreachable route under the tunnel route, and a firewall drop/no-NAT rule); false lets it follow other routes (and NAT egress) while the tunnel is down',
    })),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const PskAuth = Type.Object(
  {
    method: Type.Literal('psk'),
    psk: Type.Union([Type.String({ minLength: 16, maxLength: 256, pattern: '^[\\x20-\\x7e]+$' }), Masked], { writeOnly: true, description: 'pre-shared key (16-256 printable ASCII characters); write-only, shown as ******** (send that back to keep it)' }),
  },
  { additionalProperties: false },
);

export const CertAuth = Type.Object(
  {
    method: Type.Literal('cert'),
    certificate: VpnName,
    ca: VpnName,
  },
  { additionalProperties: false, description: 'local certificate (with its private key) and the CA that signs the peer, by name from vpn.certificates' },
);

export const IkePeer = Type.Object(
  {
    name: VpnName,
    remote: Remote,
    local_interface: Type.Optional(interfaceReference('interface whose address is the local endpoint (default: the ccnn interface)')),
    local_address: Type.Optional(IpAddress),
    ike_version: Type.Optional(Type.Union([Type.Literal(2), Type.Literal(1)], { description: 'default 2; 1 for legacy firewalls' })),
    auth: Type.Union([PskAuth, CertAuth]),
    local_id: Type.Optional(IkeIdentity),
    remote_id: Type.Optional(IkeIdentity),
    ike_proposals: Type.Optional(Type.Array(Proposal, { minItems: 1, maxItems: 16, description: 'default aes256gcm16-prfsha384-ecp384, aes128gcm16-prfsha256-ecp256, aes256-sha256-modp2048' })),
    rekey_time_s: Type.Optional(Type.Integer({ minimum: 300, maximum: 86_400 * 7, description: 'IKE_SA rekey (default 14400)' })),
    dpd_delay_s: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600, description: 'dead peer detection interval (default 10, 0 = off)' })),
    dpd_timeout_s: Type.Optional(Type.Integer({ minimum: 5, maximum: 3600, description: 'IKEv1 only: declare the peer dead after (default 30)' })),
    nat_traversal: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('force')], { description: 'force UDP encapsulation even without NAT (default auto)' })),
    tunnels: Type.Array(VpnTunnel, { minItems: 1, maxItems: 256 }),
    enabled: Type.Optional(Type.Boolean()),
    description: Type.Optional(Type.String({ maxLength: 128, pattern: '^[^"\\\\\\n]*$' })),
  },
  { additionalProperties: false },
);

export const VpnCertificate = Type.Object(
  {
    name: VpnName,
    /** PEM certificate (a CA, or the local certificate) */
    certificate: Type.String({ minLength: 1, maxLength: 65_536, pattern: '^-----BEGIN CERTIFICATE-----' }),
    /** PEM private key for a local certificate; write-only */
    private_key: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 65_536, pattern: '^-----BEGIN [A-Z ]*PRIVATE KEY-----' }), Masked], { writeOnly: true, description: 'write-only; shown as ********' })),
  },
  { additionalProperties: false },
);

export const VpnSection = Type.Object(
  {
    /** zone of tunnel traffic in firewall policies (default "vpn") */
    zone: Type.Optional(Name),
    dataplane: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('xfrm'), Type.Literal('libipsec')], {
      description: 'auto: kernel XFRM where the kernel has ESP, else strongSwan userspace libipsec',
    })),
    certificates: Type.Optional(Type.Array(VpnCertificate, { maxItems: 256 })),
    peers: Type.Array(IkePeer, { maxItems: 1024 }),
  },
  { additionalProperties: false },
);

export type VpnSection = Static<typeof VpnSection>;
export type IkePeer = Static<typeof IkePeer>;
export type VpnTunnel = Static<typeof VpnTunnel>;
export type VpnCertificate = Static<typeof VpnCertificate>;

/** Junction's defaults for what a peer or tunnel leaves out (the descriptions above say the same); proposals: proposals.ts. */
export const VPN_DEFAULTS = {
  ikeRekeyS: 14_400,
  childRekeyS: 3_600,
  dpdDelayS: 10,
  dpdTimeoutS: 30,
  startAction: 'start',
  closeAction: 'start',
  dpdAction: 'restart',
} as const;

declare module '../../model/schema.js' {
  interface SubsystemSections {
    vpn: VpnSection;
  }
}
