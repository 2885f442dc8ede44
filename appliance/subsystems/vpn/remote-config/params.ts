// The on-prem side's existing objects a generated config must fit around
// (interface names, a crypto map already bound, policy priorities, tunnel
// interface units, ikeids): optional query parameters, each valid for some
// formats only and checked here, so a bad one is refused (400 naming the
// parameter) before anything is generated. Where a parameter is not given,
// numbers default to values derived from the peer (like the strongSwan
// reqids), which rarely clash with what an admin numbered by hand; every
// generator's header says which values it assumed and which parameter
// changes each. Pure: no I/O.
import { createHash } from 'node:crypto';
import type { Vendor } from './transforms.js';

/** A query parameter the caller got wrong: the API answers 400 with `(querystring)/<param>`. */
export class RemoteConfigParamError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
    this.name = 'RemoteConfigParamError';
  }
}

type ParamValue = string | number;
interface ParamSpec {
  formats: readonly Vendor[];
  description: string;
  /** the value, or a message saying what is wrong */
  parse(raw: string): ParamValue | { error: string };
}

const text = (pattern: RegExp, what: string) => (raw: string) => (pattern.test(raw) ? raw : { error: `must be ${what}` });
const integer = (min: number, max: number) => (raw: string) => {
  if (!/^[0-9]{1,10}$/.test(raw)) return { error: `must be an integer from ${min} to ${max}` };
  const value = Number(raw);
  return value >= min && value <= max ? value : { error: `must be an integer from ${min} to ${max}` };
};

/** Highest reqid written: below 2^31, for tools that print reqids as signed numbers. */
export const REQID_LIMIT = 2_147_483_647;

const ASA_NAMEIF = text(/^[A-Za-z][A-Za-z0-9_.-]{0,47}$/, 'an ASA interface name (nameif): a letter, then letters, digits, "_", "." or "-", at most 48 characters');
const ASA_OBJECT = text(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'an ASA object name: a letter, then letters, digits, "_", "." or "-", at most 64 characters');
const PANOS_NAME = text(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$/, 'a PAN-OS name: letters, digits, "_", "." or "-", at most 31 characters, no spaces');

export const REMOTE_CONFIG_PARAMS = {
  outside_interface: { formats: ['cisco-asa'], description: 'ASA nameif of the interface holding this gateway\'s address (default outside)', parse: ASA_NAMEIF },
  inside_interface: { formats: ['cisco-asa'], description: 'ASA nameif of the interface towards the on-prem subnets, for the NAT exemption (default inside)', parse: ASA_NAMEIF },
  crypto_map: {
    formats: ['cisco-asa'],
    description: 'name of the crypto map already bound to the outside interface: the entries are added to it and no map is bound (an ASA binds one map per interface). Default: a new map JUNCTION-<PEER>, bound to the interface',
    parse: ASA_OBJECT,
  },
  crypto_map_seq: { formats: ['cisco-asa'], description: 'sequence number of the first crypto map entry (one per tunnel, counting up; default derived from the peer)', parse: integer(1, 65535) },
  ike_policy_priority: { formats: ['cisco-asa'], description: 'priority of the first crypto ikev1/ikev2 policy (counting up; default derived from the peer)', parse: integer(1, 65535) },
  wan_interface: {
    formats: ['fortigate', 'paloalto'],
    description: 'the interface holding this gateway\'s address (FortiGate default wan1, PAN-OS default ethernet1/1)',
    parse: text(/^[A-Za-z][A-Za-z0-9_./-]{0,31}$/, 'an interface name: a letter, then letters, digits, "_", ".", "/" or "-", at most 32 characters'),
  },
  tunnel_unit: { formats: ['paloalto'], description: 'number N of the first tunnel.N interface (one per tunnel, counting up; default derived from the peer)', parse: integer(1, 9999) },
  zone: { formats: ['paloalto'], description: 'security zone for the tunnel interfaces (default vpn)', parse: PANOS_NAME },
  virtual_router: { formats: ['paloalto'], description: 'virtual router holding the tunnel interfaces and static routes (default default)', parse: PANOS_NAME },
  interface: { formats: ['pfsense'], description: 'pfSense interface holding this gateway\'s address (default wan)', parse: text(/^[a-z][a-z0-9_]{0,15}$/, 'a pfSense interface id such as wan or opt1') },
  ikeid: { formats: ['pfsense'], description: 'ikeid of the phase 1 (default derived from the peer)', parse: integer(1, 65535) },
  reqid: { formats: ['pfsense', 'strongswan'], description: 'reqid of the first phase 2 / CHILD_SA (counting up; default derived from the peer)', parse: integer(1, REQID_LIMIT) },
  version: { formats: ['libreswan'], description: 'Libreswan major version: 4 (ikev2=, dpdaction=) or 5 (keyexchange=, no dpdaction); default 4', parse: (raw) => (raw === '4' || raw === '5' ? Number(raw) : { error: 'must be 4 or 5' }) },
} as const satisfies Record<string, ParamSpec>;

export type RemoteConfigParamName = keyof typeof REMOTE_CONFIG_PARAMS;

export interface RemoteConfigParams {
  outside_interface?: string;
  inside_interface?: string;
  crypto_map?: string;
  crypto_map_seq?: number;
  ike_policy_priority?: number;
  wan_interface?: string;
  tunnel_unit?: number;
  zone?: string;
  virtual_router?: string;
  interface?: string;
  ikeid?: number;
  reqid?: number;
  version?: number;
}

export const isRemoteConfigParam = (name: string): name is RemoteConfigParamName => Object.hasOwn(REMOTE_CONFIG_PARAMS, name);

/** Checks the parameters given for `format`; throws RemoteConfigParamError naming the first bad one. */
export function parseRemoteConfigParams(format: Vendor, given: Record<string, string | undefined>): RemoteConfigParams {
  const params: Record<string, ParamValue> = {};
  for (const [name, raw] of Object.entries(given)) {
    if (raw === undefined) continue;
    if (!isRemoteConfigParam(name)) throw new RemoteConfigParamError(name, `unknown parameter "${name}"`);
    const spec: ParamSpec = REMOTE_CONFIG_PARAMS[name];
    if (!spec.formats.includes(format)) throw new RemoteConfigParamError(name, `"${name}" applies to format ${spec.formats.join(' or ')}, not ${format}`);
    const value = spec.parse(raw);
    if (typeof value === 'object') throw new RemoteConfigParamError(name, `"${name}" ${value.error}`);
    params[name] = value;
  }
  return params as RemoteConfigParams;
}

/**
 * A number in [min, max] derived from `seed` (the peer and Junction's
 * endpoint): stable across exports of the same peer, and spread out, so it
 * seldom lands on an entry an admin numbered 1, 10, 20...
 */
export function derivedNumber(seed: string, min: number, max: number): number {
  return min + (createHash('sha256').update(seed).digest().readUInt32BE(0) % (max - min + 1));
}

/** `name` if it has at most `max` characters, else its head and a short hash of the whole, so two long names stay distinct. */
export function shortName(name: string, max: number, attempt = 0): string {
  if (name.length <= max && attempt === 0) return name;
  const hash = createHash('sha256').update(`${name}#${attempt}`).digest('hex').slice(0, 4);
  return `${name.slice(0, max - 5).replace(/[-_.]+$/, '')}-${hash}`;
}

/** What a generator gets besides the mirror-image site. */
export interface RenderContext {
  /** "/vpn/peers/<index>", for RemoteConfigError paths */
  peerPath: string;
  params: RemoteConfigParams;
  /** every peer name of the document, for names that must stay distinct across peers (FortiGate) */
  peerNames: readonly string[];
}
