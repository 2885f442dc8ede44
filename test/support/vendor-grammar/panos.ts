// Syntax model of the PAN-OS configure-mode "set" commands the remote-config
// generator writes: each command path (network ike crypto-profiles,
// network ike gateway, network interface tunnel, zone, network
// virtual-router, network tunnel ipsec) with its value sets and ranges from
// the PAN-OS CLI and web interface references, the 31-character name limit,
// and what the commit checks: a static route or IPsec tunnel through a
// tunnel interface needs that interface to exist, to sit in the route's
// virtual router and in a security zone (the PAN-OS admin guide: "The tunnel
// interface must belong to a security zone ... and it must be assigned to a
// virtual router"), and a tunnel.N already in use is not free.
import { applyRules, intIn, isCidr4, isIpv4, Problems, type GrammarProblem, type LineRule } from './common.js';

/** What the firewall has before the paste. */
export interface PanosRunning {
  /** tunnel.N units already configured */
  tunnelUnits?: string[];
  /** layer-3 interfaces that exist (default ethernet1/1) */
  interfaces?: string[];
}

interface State {
  units: Map<string, number>;
  zones: Map<string, string>;
  routers: Map<string, string>;
  ikeProfiles: Set<string>;
  ipsecProfiles: Set<string>;
  gateways: Map<string, { profile?: string; line: number }>;
  tunnels: Map<string, { gateway?: string; profile?: string; iface?: string; line: number }>;
  routes: Array<{ vr: string; iface: string; line: number }>;
  gatewayInterfaces: Array<{ iface: string; line: number }>;
}

const NAME = '([A-Za-z0-9][A-Za-z0-9_.-]*)';
const UNIT = '(tunnel\\.\\d+)';
const ENC_IKE = ['des', '3des', 'aes-128-cbc', 'aes-192-cbc', 'aes-256-cbc', 'aes-128-gcm', 'aes-256-gcm'];
const HASH_IKE = ['md5', 'sha1', 'sha256', 'sha384', 'sha512', 'non-auth'];
const ENC_ESP = ['des', '3des', 'aes-128-cbc', 'aes-192-cbc', 'aes-256-cbc', 'aes-128-ccm', 'aes-128-gcm', 'aes-256-gcm', 'null'];
const AUTH_ESP = ['md5', 'sha1', 'sha256', 'sha384', 'sha512', 'none'];
const DH = ['group1', 'group2', 'group5', 'group14', 'group15', 'group16', 'group19', 'group20', 'group21'];
const ID_TYPES = ['ipaddr', 'fqdn', 'ufqdn', 'keyid', 'dn'];
const only = (ok: boolean, message: string) => (ok ? undefined : message);
/** A member value: one word, or "[ a b ]". */
const members = (value: string): string[] => (value.startsWith('[ ') && value.endsWith(' ]') ? value.slice(2, -2).split(' ') : [value]);
const membersIn = (value: string, allowed: string[], what: string) => only(members(value).every((v) => allowed.includes(v)), `${what} is among ${allowed.join(' ')}`);
const nameOk = (name: string) => only(name.length <= 31, `names have at most 31 characters ("${name}" has ${name.length})`);
const unitOk = (unit: string) => only(intIn(unit.slice('tunnel.'.length), 1, 9999), 'tunnel units are tunnel.1 to tunnel.9999');
function lifetime(kind: string, value: string): string | undefined {
  const ranges: Record<string, [number, number]> = { seconds: [180, 65535], minutes: [3, 65535], hours: [1, 65535], days: [1, 365] };
  const range = ranges[kind];
  return only(range !== undefined && intIn(value, range[0], range[1]), 'lifetime is seconds 180-65535, minutes 3-65535, hours 1-65535 or days 1-365');
}

const LIST = '(\\[ [^\\]]+ \\]|\\S+)';
const RULES: LineRule<State>[] = [
  {
    pattern: new RegExp(`^network ike crypto-profiles ike-crypto-profiles ${NAME} (?:encryption ${LIST}|hash ${LIST}|dh-group ${LIST}|lifetime (seconds|minutes|hours|days) (\\d+))$`),
    check: (m) => nameOk(m[1]!) ?? (m[2] ? membersIn(m[2], ENC_IKE, 'IKE encryption') : m[3] ? membersIn(m[3], HASH_IKE, 'IKE hash') : m[4] ? membersIn(m[4], DH, 'dh-group') : lifetime(m[5]!, m[6]!)),
    record: (m, s) => s.ikeProfiles.add(m[1]!),
  },
  {
    pattern: new RegExp(`^network ike crypto-profiles ipsec-crypto-profiles ${NAME} (?:esp encryption ${LIST}|esp authentication ${LIST}|dh-group (\\S+)|lifetime (seconds|minutes|hours|days) (\\d+))$`),
    check: (m) => nameOk(m[1]!) ?? (m[2] ? membersIn(m[2], ENC_ESP, 'ESP encryption') : m[3] ? membersIn(m[3], AUTH_ESP, 'ESP authentication') : m[4] ? only([...DH, 'no-pfs'].includes(m[4]), 'dh-group is no-pfs or one group') : lifetime(m[5]!, m[6]!)),
    record: (m, s) => s.ipsecProfiles.add(m[1]!),
  },
  {
    pattern: new RegExp(`^network ike gateway ${NAME} (.+)$`),
    check: (m) => nameOk(m[1]!) ?? gatewayLeaf(m[2]!),
    record: (m, s, line) => {
      const g = s.gateways.get(m[1]!) ?? { line };
      const profile = /^protocol ikev[12] ike-crypto-profile (\S+)$/.exec(m[2]!);
      if (profile) g.profile = profile[1];
      const iface = /^local-address interface (\S+)$/.exec(m[2]!);
      if (iface) s.gatewayInterfaces.push({ iface: iface[1]!, line });
      s.gateways.set(m[1]!, g);
    },
  },
  { pattern: new RegExp(`^network interface tunnel units ${UNIT}$`), check: (m) => unitOk(m[1]!), record: (m, s, line) => s.units.set(m[1]!, line) },
  { pattern: new RegExp(`^zone ${NAME} network layer3 (\\S+)$`), check: (m) => nameOk(m[1]!), record: (m, s) => s.zones.set(m[2]!, m[1]!) },
  { pattern: new RegExp(`^network virtual-router ${NAME} interface (\\S+)$`), check: (m) => nameOk(m[1]!), record: (m, s) => s.routers.set(m[2]!, m[1]!) },
  {
    pattern: new RegExp(`^network tunnel ipsec ${NAME} (?:auto-key ike-gateway (\\S+)|auto-key ipsec-crypto-profile (\\S+)|tunnel-interface ${UNIT}|auto-key proxy-id ${NAME} local (\\S+) remote (\\S+) protocol any)$`),
    check: (m) => nameOk(m[1]!) ?? (m[5] ? nameOk(m[5]) ?? only(isCidr4(m[6]!) && isCidr4(m[7]!), 'proxy-id local and remote are IPv4 prefixes') : m[4] ? unitOk(m[4]) : undefined),
    record: (m, s, line) => {
      const t = s.tunnels.get(m[1]!) ?? { line };
      if (m[2]) t.gateway = m[2];
      if (m[3]) t.profile = m[3];
      if (m[4]) t.iface = m[4];
      s.tunnels.set(m[1]!, t);
    },
  },
  {
    pattern: new RegExp(`^network virtual-router ${NAME} routing-table ip static-route ${NAME} destination (\\S+) interface (\\S+)$`),
    check: (m) => nameOk(m[1]!) ?? nameOk(m[2]!) ?? only(isCidr4(m[3]!), 'destination is an IPv4 prefix'),
    record: (m, s, line) => s.routes.push({ vr: m[1]!, iface: m[4]!, line }),
  },
];

function gatewayLeaf(leaf: string): string | undefined {
  const forms: Array<[RegExp, (m: RegExpExecArray) => string | undefined]> = [
    [/^protocol version (ikev1|ikev2|ikev2-preferred)$/, () => undefined],
    [/^protocol (ikev1|ikev2) ike-crypto-profile (\S+)$/, () => undefined],
    [/^protocol (ikev1|ikev2) dpd enable (yes|no)$/, () => undefined],
    [/^protocol ikev2 dpd interval (\d+)$/, (m) => only(intIn(m[1], 2, 100), 'dpd interval is 2-100')],
    [/^protocol ikev1 dpd interval (\d+) retry (\d+)$/, (m) => only(intIn(m[1], 2, 100) && intIn(m[2], 2, 100), 'dpd interval and retry are 2-100')],
    [/^protocol ikev1 exchange-mode (main|aggressive|auto)$/, () => undefined],
    [/^local-address interface (\S+)$/, () => undefined],
    [/^peer-address ip (\S+)$/, (m) => only(isIpv4(m[1]!), 'peer-address ip is an address')],
    [/^(local|peer)-id type (\S+) id (\S+|"[^"]*")$/, (m) => only(ID_TYPES.includes(m[2]!), `id type is one of ${ID_TYPES.join(', ')}`)],
    [/^protocol-common nat-traversal enable (yes|no)$/, () => undefined],
    [/^authentication pre-shared-key key (\S+|"[^"]*")$/, () => undefined],
    [/^authentication certificate (local-certificate name|certificate-profile) (\S+)$/, () => undefined],
  ];
  for (const [pattern, check] of forms) {
    const m = pattern.exec(leaf);
    if (m) return check(m);
  }
  return `"${leaf}" is not an IKE gateway setting`;
}

export function checkPanos(text: string, running: PanosRunning = {}): GrammarProblem[] {
  const problems = new Problems();
  const s: State = { units: new Map(), zones: new Map(), routers: new Map(), ikeProfiles: new Set(), ipsecProfiles: new Set(), gateways: new Map(), tunnels: new Map(), routes: [], gatewayInterfaces: [] };
  text.split('\n').forEach((raw, i) => {
    if (raw === '' || raw.startsWith('#')) return;
    if (!raw.startsWith('set ')) { problems.add(i + 1, raw, 'configure mode: every command here is a "set"'); return; }
    applyRules(RULES, raw.slice(4), s, problems, i + 1, raw, 'set');
  });

  const interfaces = new Set(running.interfaces ?? ['ethernet1/1']);
  for (const g of s.gatewayInterfaces) if (!interfaces.has(g.iface)) problems.add(g.line, '', `IKE gateway: no interface ${g.iface}`);
  for (const [unit, line] of s.units) if (running.tunnelUnits?.includes(unit)) problems.add(line, '', `${unit} is already configured (it may carry another tunnel)`);
  for (const [name, g] of s.gateways) if (!g.profile || !s.ikeProfiles.has(g.profile)) problems.add(g.line, '', `IKE gateway ${name}: its IKE crypto profile is not defined`);
  const usable = (iface: string, line: number, what: string, vr?: string) => {
    if (!s.units.has(iface) && !running.tunnelUnits?.includes(iface)) problems.add(line, '', `${what}: ${iface} is not configured (commit fails)`);
    if (!s.zones.has(iface)) problems.add(line, '', `${what}: ${iface} is in no security zone (no traffic passes it)`);
    const router = s.routers.get(iface);
    if (!router) problems.add(line, '', `${what}: ${iface} is in no virtual router (commit fails)`);
    else if (vr !== undefined && router !== vr) problems.add(line, '', `${what}: ${iface} is in virtual router ${router}, not ${vr} (commit fails)`);
  };
  for (const [name, t] of s.tunnels) {
    if (!t.gateway || !s.gateways.has(t.gateway)) problems.add(t.line, '', `IPsec tunnel ${name}: IKE gateway not defined`);
    if (!t.profile || !s.ipsecProfiles.has(t.profile)) problems.add(t.line, '', `IPsec tunnel ${name}: IPsec crypto profile not defined`);
    if (!t.iface) problems.add(t.line, '', `IPsec tunnel ${name}: no tunnel-interface`);
    else usable(t.iface, t.line, `IPsec tunnel ${name}`);
  }
  for (const r of s.routes) usable(r.iface, r.line, 'static route', r.vr);
  return problems.list;
}
