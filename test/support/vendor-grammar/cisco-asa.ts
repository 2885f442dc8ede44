// Syntax model of the Cisco ASA 9.x CLI lines the remote-config generator
// writes: each command with the mode it is valid in (global configuration,
// or the sub-mode a line like "crypto ikev2 policy 10" enters, whose
// commands are indented one space), its value sets and ranges as the ASA
// command reference and configuration guide document them (IKEv1 policy:
// hash sha|md5, groups up to 14; IKEv1 transform sets: esp-sha-hmac,
// esp-md5-hmac, esp-none; SHA-2 only in IKEv2 policies and proposals), and
// what pasting the lines into a running ASA does: a map bound to an
// interface that already has one replaces it, a policy or map entry number
// already in use is overwritten, crypto ACL traffic without an identity
// NAT rule is translated by the usual dynamic PAT before encryption.
import { applyRules, intIn, isIpv4, isMask, Problems, wordsIn, type GrammarProblem, type LineRule } from './common.js';

/** What the ASA has before the paste. */
export interface AsaRunning {
  /** nameifs (default outside, inside) */
  interfaces?: string[];
  /** interface -> crypto map bound to it */
  boundMaps?: Record<string, string>;
  ikev1Policies?: number[];
  ikev2Policies?: number[];
  /** map -> sequence numbers in use */
  mapEntries?: Record<string, number[]>;
}

type Mode = 'global' | 'network-object-group' | 'ikev1-policy' | 'ikev2-policy' | 'ipsec-proposal' | 'tunnel-ipsec';

interface State {
  mode: Mode;
  groups: Set<string>;
  /** ACEs per access-list; "og:NAME" for an object-group, else "ADDRESS MASK" */
  acls: Map<string, Array<{ src: string; dst: string }>>;
  nat: Array<{ inside: string; outside: string; src: string; dst: string }>;
  proposals: Set<string>;
  entries: Map<string, { map: string; seq: number; line: number; acl?: string; peer?: boolean; sets?: string[] }>;
  bindings: Array<{ map: string; iface: string; line: number }>;
  policies: Array<{ version: 1 | 2; priority: number; line: number }>;
  enabled: Array<{ iface: string; line: number }>;
}

const NAME = '([A-Za-z0-9][A-Za-z0-9_.-]{0,63})';
const IP = '(\\d+\\.\\d+\\.\\d+\\.\\d+)';
const MAX_LIFETIME = 2_147_483_647;
const GROUPS_IKEV2 = ['1', '2', '5', '14', '15', '16', '19', '20', '21', '24', '31'];
const IKEV2_ENCRYPTION = ['des', '3des', 'aes', 'aes-192', 'aes-256', 'aes-gcm', 'aes-gcm-192', 'aes-gcm-256', 'null'];
const IKEV2_INTEGRITY = ['md5', 'sha', 'sha256', 'sha384', 'sha512', 'null'];
const IKEV2_PRF = ['md5', 'sha', 'sha256', 'sha384', 'sha512'];
const ESP_ENCRYPTION = ['des', '3des', 'aes', 'aes-192', 'aes-256', 'aes-gcm', 'aes-gcm-192', 'aes-gcm-256', 'aes-gmac', 'aes-gmac-192', 'aes-gmac-256', 'null'];
const ESP_INTEGRITY = ['md5', 'sha-1', 'sha-256', 'sha-384', 'sha-512', 'null'];
const IKEV1_ESP_ENCRYPTION = ['esp-3des', 'esp-aes', 'esp-aes-192', 'esp-aes-256', 'esp-des', 'esp-null'];
const IKEV1_ESP_HASH = ['esp-md5-hmac', 'esp-sha-hmac', 'esp-none'];
const only = (ok: boolean, message: string) => (ok ? undefined : message);
const ACL_SIDE = '(object-group \\S+|host \\S+|any|\\S+ \\S+)';
const side = (text: string): string => (text.startsWith('object-group ') ? `og:${text.slice(13)}` : text);
function validSide(text: string): boolean {
  const [a, b] = text.split(' ');
  if (a === 'object-group' || a === 'any') return true;
  if (a === 'host') return isIpv4(b!);
  return isIpv4(a!) && isMask(b!);
}

const GLOBAL: LineRule<State>[] = [
  { pattern: new RegExp(`^object-group network ${NAME}$`), record: (m, s) => { s.groups.add(m[1]!); s.mode = 'network-object-group'; } },
  {
    pattern: new RegExp(`^access-list ${NAME} extended permit ip ${ACL_SIDE} ${ACL_SIDE}$`),
    check: (m) => only([m[2]!, m[3]!].every(validSide), 'an ACE side is object-group NAME, host ADDRESS, ADDRESS NETMASK or any'),
    record: (m, s) => s.acls.set(m[1]!, [...(s.acls.get(m[1]!) ?? []), { src: side(m[2]!), dst: side(m[3]!) }]),
  },
  {
    pattern: new RegExp(`^nat \\(${NAME},${NAME}\\)(?: (\\d+))? source static ${NAME} ${NAME} destination static ${NAME} ${NAME}( no-proxy-arp)?( route-lookup)?$`),
    check: (m) => only(m[4] === m[5] && m[6] === m[7], 'an identity (exemption) rule maps each object to itself') ?? only(m[3] === undefined || intIn(m[3], 1, 2147483647), 'line number out of range'),
    record: (m, s) => s.nat.push({ inside: m[1]!, outside: m[2]!, src: m[4]!, dst: m[6]! }),
  },
  { pattern: /^crypto ikev2 policy (\d+)$/, check: (m) => only(intIn(m[1], 1, 65535), 'priority is 1-65535'), record: (m, s, line) => { s.policies.push({ version: 2, priority: Number(m[1]), line }); s.mode = 'ikev2-policy'; } },
  { pattern: /^crypto ikev1 policy (\d+)$/, check: (m) => only(intIn(m[1], 1, 65535), 'priority is 1-65535'), record: (m, s, line) => { s.policies.push({ version: 1, priority: Number(m[1]), line }); s.mode = 'ikev1-policy'; } },
  { pattern: new RegExp(`^crypto ikev[12] enable ${NAME}$`), record: (m, s, line) => s.enabled.push({ iface: m[1]!, line }) },
  { pattern: new RegExp(`^crypto ipsec ikev2 ipsec-proposal ${NAME}$`), record: (m, s) => { s.proposals.add(m[1]!); s.mode = 'ipsec-proposal'; } },
  {
    pattern: new RegExp(`^crypto ipsec ikev1 transform-set ${NAME} (\\S+) (\\S+)$`),
    check: (m) => only(IKEV1_ESP_ENCRYPTION.includes(m[2]!), `IKEv1 transform-set encryption is one of ${IKEV1_ESP_ENCRYPTION.join(', ')}`) ?? only(IKEV1_ESP_HASH.includes(m[3]!), `IKEv1 transform-set authentication is one of ${IKEV1_ESP_HASH.join(', ')} (SHA-2 is IKEv2 only on the ASA)`),
    record: (m, s) => s.proposals.add(m[1]!),
  },
  {
    pattern: new RegExp(`^crypto map ${NAME} (\\d+) (match address ${NAME}|set peer ${IP}|set ikev2 ipsec-proposal (.+)|set ikev1 transform-set (.+)|set pfs group(\\d+)|set security-association lifetime seconds (\\d+))$`),
    check: (m) =>
      only(intIn(m[2], 1, 65535), 'sequence number is 1-65535') ??
      (m[5] !== undefined ? only(isIpv4(m[5]), 'peer must be an address') : undefined) ??
      (m[8] !== undefined ? only(GROUPS_IKEV2.includes(m[8]), `pfs group is one of ${GROUPS_IKEV2.join(', ')}`) : undefined) ??
      (m[9] !== undefined ? only(intIn(m[9], 120, MAX_LIFETIME), 'lifetime is 120-2147483647 seconds') : undefined) ??
      only((m[6] ?? m[7] ?? '').split(' ').length <= 11, 'at most 11 proposals or transform sets'),
    record: (m, s, line) => {
      const key = `${m[1]} ${m[2]}`;
      const entry = s.entries.get(key) ?? { map: m[1]!, seq: Number(m[2]), line };
      if (m[4]) entry.acl = m[4];
      if (m[5]) entry.peer = true;
      if (m[6] ?? m[7]) entry.sets = (m[6] ?? m[7])!.split(' ');
      s.entries.set(key, entry);
    },
  },
  { pattern: new RegExp(`^crypto map ${NAME} interface ${NAME}$`), record: (m, s, line) => s.bindings.push({ map: m[1]!, iface: m[2]!, line }) },
  { pattern: new RegExp(`^tunnel-group ${IP} type ipsec-l2l$`), check: (m) => only(isIpv4(m[1]!), 'tunnel-group name must be the peer address') },
  { pattern: new RegExp(`^tunnel-group ${IP} ipsec-attributes$`), record: (_m, s) => { s.mode = 'tunnel-ipsec'; } },
];

const SUB: Record<Exclude<Mode, 'global'>, LineRule<State>[]> = {
  'network-object-group': [
    { pattern: new RegExp(`^network-object ${IP} ${IP}$`), check: (m) => only(isIpv4(m[1]!) && isMask(m[2]!), 'network-object takes an address and a netmask') },
    { pattern: new RegExp(`^network-object host ${IP}$`), check: (m) => only(isIpv4(m[1]!), 'not an address') },
  ],
  'ikev2-policy': [
    { pattern: /^encryption (.+)$/, check: (m) => only(wordsIn(m[1], IKEV2_ENCRYPTION), `IKEv2 encryption is among ${IKEV2_ENCRYPTION.join(' ')}`) },
    { pattern: /^integrity (.+)$/, check: (m) => only(wordsIn(m[1], IKEV2_INTEGRITY), `IKEv2 integrity is among ${IKEV2_INTEGRITY.join(' ')}`) },
    { pattern: /^group (.+)$/, check: (m) => only(wordsIn(m[1], GROUPS_IKEV2), `IKEv2 groups are among ${GROUPS_IKEV2.join(' ')}`) },
    { pattern: /^prf (.+)$/, check: (m) => only(wordsIn(m[1], IKEV2_PRF), `IKEv2 prf is among ${IKEV2_PRF.join(' ')}`) },
    { pattern: /^lifetime seconds (\d+)$/, check: (m) => only(intIn(m[1], 120, MAX_LIFETIME), 'lifetime is 120-2147483647 seconds') },
  ],
  'ikev1-policy': [
    { pattern: /^authentication (pre-share|rsa-sig|crack)$/ },
    { pattern: /^encryption (3des|aes|aes-192|aes-256|des)$/ },
    { pattern: /^hash (\S+)$/, check: (m) => only(m[1] === 'sha' || m[1] === 'md5', 'an IKEv1 policy hash is sha or md5 (SHA-2 is IKEv2 only on the ASA)') },
    { pattern: /^group (\d+)$/, check: (m) => only(['1', '2', '5', '14'].includes(m[1]!), 'IKEv1 policies take groups 1, 2, 5 and 14') },
    { pattern: /^lifetime (\d+)$/, check: (m) => only(intIn(m[1], 120, MAX_LIFETIME), 'lifetime is 120-2147483647 seconds') },
  ],
  'ipsec-proposal': [
    { pattern: /^protocol esp encryption (.+)$/, check: (m) => only(wordsIn(m[1], ESP_ENCRYPTION), `ESP encryption is among ${ESP_ENCRYPTION.join(' ')}`) },
    { pattern: /^protocol esp integrity (.+)$/, check: (m) => only(wordsIn(m[1], ESP_INTEGRITY), `ESP integrity is among ${ESP_INTEGRITY.join(' ')}`) },
  ],
  'tunnel-ipsec': [
    { pattern: /^ikev2 (remote|local)-authentication pre-shared-key \S+$/ },
    { pattern: /^ikev2 remote-authentication certificate$/ },
    { pattern: new RegExp(`^ikev2 local-authentication certificate ${NAME}$`) },
    { pattern: /^ikev1 pre-shared-key \S+$/ },
    { pattern: new RegExp(`^ikev1 trust-point ${NAME}$`) },
    { pattern: /^isakmp keepalive threshold (\d+) retry (\d+)$/, check: (m) => only(intIn(m[1], 10, 3600) && intIn(m[2], 2, 10), 'threshold is 10-3600 s, retry 2-10 s') },
    { pattern: /^isakmp keepalive disable$/ },
  ],
};

export function checkCiscoAsa(text: string, running: AsaRunning = {}): GrammarProblem[] {
  const problems = new Problems();
  const s: State = { mode: 'global', groups: new Set(), acls: new Map(), nat: [], proposals: new Set(), entries: new Map(), bindings: [], policies: [], enabled: [] };
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, i) => {
    const n = i + 1;
    if (raw.startsWith('!')) return;
    if (raw.startsWith(' ')) {
      if (s.mode === 'global') problems.add(n, raw, 'a sub-command outside any configuration mode');
      else applyRules(SUB[s.mode], raw.slice(1), s, problems, n, raw, `mode ${s.mode}`);
      return;
    }
    s.mode = 'global';
    applyRules(GLOBAL, raw, s, problems, n, raw, 'global configuration');
  });

  const interfaces = new Set(running.interfaces ?? ['outside', 'inside']);
  for (const e of s.enabled) if (!interfaces.has(e.iface)) problems.add(e.line, '', `no interface "${e.iface}"`);
  for (const rule of s.nat) {
    for (const iface of [rule.inside, rule.outside]) if (!interfaces.has(iface)) problems.add(0, '', `nat names interface "${iface}", which does not exist`);
    for (const group of [rule.src, rule.dst]) if (!s.groups.has(group)) problems.add(0, '', `nat uses object-group ${group}, which is not defined`);
  }
  for (const [name, aces] of s.acls) {
    for (const ace of aces) {
      for (const end of [ace.src, ace.dst]) if (end.startsWith('og:') && !s.groups.has(end.slice(3))) problems.add(0, '', `access-list ${name} uses object-group ${end.slice(3)}, which is not defined`);
    }
  }
  const bound = new Map(Object.entries(running.boundMaps ?? {}).map(([iface, map]) => [map, iface]));
  for (const b of s.bindings) {
    if (!interfaces.has(b.iface)) problems.add(b.line, '', `no interface "${b.iface}"`);
    const existing = running.boundMaps?.[b.iface];
    if (existing) problems.add(b.line, '', `binding crypto map ${b.map} to ${b.iface} replaces crypto map ${existing} bound there (one map per interface)`);
    bound.set(b.map, b.iface);
  }
  for (const p of s.policies) {
    const used = (p.version === 1 ? running.ikev1Policies : running.ikev2Policies) ?? [];
    if (used.includes(p.priority)) problems.add(p.line, '', `crypto ikev${p.version} policy ${p.priority} already exists and would be overwritten`);
  }
  for (const e of s.entries.values()) {
    const where = `crypto map ${e.map} ${e.seq}`;
    if ((running.mapEntries?.[e.map] ?? []).includes(e.seq)) problems.add(e.line, '', `${where} already exists and would be overwritten`);
    if (!bound.has(e.map)) problems.add(e.line, '', `${where}: the map is bound to no interface, so the entry is never used`);
    if (!e.acl || !e.peer || !e.sets) problems.add(e.line, '', `${where} needs match address, set peer and a proposal or transform set`);
    if (e.acl && !s.acls.has(e.acl)) problems.add(e.line, '', `${where} matches access-list ${e.acl}, which is not defined`);
    for (const set of e.sets ?? []) if (!s.proposals.has(set)) problems.add(e.line, '', `${where} uses ${set}, which is not defined`);
    for (const ace of e.acl ? s.acls.get(e.acl) ?? [] : []) {
      if (!s.nat.some((r) => `og:${r.src}` === ace.src && `og:${r.dst}` === ace.dst)) {
        problems.add(e.line, '', `${where}: no identity NAT rule for ${ace.src} -> ${ace.dst}, so the usual dynamic PAT translates tunnel traffic before it is encrypted`);
      }
    }
  }
  return problems.list;
}
