// Syntax model of the FortiOS CLI the remote-config generator writes:
// "config <path>" / "edit <name>" / "set <attribute> <value>" / "next" /
// "end" blocks (four spaces per level), the attributes of
// vpn ipsec phase1-interface, vpn ipsec phase2-interface and router static
// with their value sets and ranges from the FortiOS CLI reference, the name
// limits (a phase1-interface names an interface: 15 characters; phase 2:
// 35), and what a paste does: an "edit" of a name that already exists
// changes that entry instead of adding one, so two peers' configs pasted
// into one FortiGate must not share a phase 1 or phase 2 name.
import { applyRules, intIn, isIpv4, isMask, Problems, wordsIn, type GrammarProblem, type LineRule } from './common.js';

/** Entries the FortiGate has before the paste, per config path. */
export interface FortiosRunning {
  phase1?: string[];
  phase2?: string[];
  interfaces?: string[];
}

const PHASE1 = 'vpn ipsec phase1-interface';
const PHASE2 = 'vpn ipsec phase2-interface';
const STATIC = 'router static';
const LIMITS: Record<string, number> = { [PHASE1]: 15, [PHASE2]: 35 };

const CIPHERS = ['des', '3des', 'aes128', 'aes192', 'aes256', 'aria128', 'aria192', 'aria256', 'seed', 'chacha20poly1305', 'aes128gcm', 'aes256gcm'];
const HASHES = ['md5', 'sha1', 'sha256', 'sha384', 'sha512'];
const P1_PROPOSALS = CIPHERS.flatMap((c) => (c.endsWith('gcm') || c.startsWith('chacha') ? HASHES.map((h) => `${c}-prf${h}`) : HASHES.map((h) => `${c}-${h}`)));
const P2_PROPOSALS = [...CIPHERS.filter((c) => c.endsWith('gcm') || c.startsWith('chacha')), ...CIPHERS.filter((c) => !c.endsWith('gcm') && !c.startsWith('chacha')).flatMap((c) => HASHES.map((h) => `${c}-${h}`))];
const DH = ['1', '2', '5', '14', '15', '16', '17', '18', '19', '20', '21', '27', '28', '29', '30', '31', '32'];
const QUOTED = /^"((?:[^"\\]|\\.)*)"$/;
const only = (ok: boolean, message: string) => (ok ? undefined : message);
const quoted = (v: string) => only(QUOTED.test(v), 'a string value is double-quoted');
const subnet = (v: string) => { const [a, m, ...rest] = v.split(' '); return only(rest.length === 0 && isIpv4(a ?? '') && isMask(m ?? ''), 'takes an address and a netmask'); };
const enumOf = (...values: string[]) => (v: string) => only(values.includes(v), `is one of ${values.join(', ')}`);

interface Entry { path: string; name: string; line: number; attrs: Map<string, string> }
interface State { entries: Entry[] }

const ATTRIBUTES: Record<string, Record<string, (v: string) => string | undefined>> = {
  [PHASE1]: {
    interface: quoted,
    'ike-version': enumOf('1', '2'),
    peertype: enumOf('any', 'one', 'dialup', 'peer', 'peergrp'),
    'net-device': enumOf('enable', 'disable'),
    proposal: (v) => only(wordsIn(v, P1_PROPOSALS), 'phase 1 proposals are cipher-hash (or AEAD cipher-prfhash) words'),
    dhgrp: (v) => only(wordsIn(v, DH), `DH groups are among ${DH.join(' ')}`),
    'remote-gw': (v) => only(isIpv4(v), 'an IPv4 address'),
    keylife: (v) => only(intIn(v, 120, 172800), 'keylife is 120-172800 seconds'),
    'localid-type': enumOf('auto', 'fqdn', 'user-fqdn', 'keyid', 'address', 'asn1dn'),
    localid: quoted,
    peerid: quoted,
    dpd: enumOf('disable', 'on-idle', 'on-demand'),
    'dpd-retryinterval': (v) => only(intIn(v, 1, 3600), 'dpd-retryinterval is 1-3600 seconds'),
    'dpd-retrycount': (v) => only(intIn(v, 1, 10), 'dpd-retrycount is 1-10'),
    nattraversal: enumOf('enable', 'disable', 'forced'),
    authmethod: enumOf('psk', 'signature'),
    psksecret: quoted,
    certificate: quoted,
  },
  [PHASE2]: {
    phase1name: quoted,
    proposal: (v) => only(wordsIn(v, P2_PROPOSALS), 'phase 2 proposals are AEAD ciphers or cipher-hash words'),
    pfs: enumOf('enable', 'disable'),
    dhgrp: (v) => only(wordsIn(v, DH), `DH groups are among ${DH.join(' ')}`),
    keylifeseconds: (v) => only(intIn(v, 120, 172800), 'keylifeseconds is 120-172800'),
    'src-subnet': subnet,
    'dst-subnet': subnet,
    'auto-negotiate': enumOf('enable', 'disable'),
  },
  [STATIC]: { dst: subnet, device: quoted },
};

export function checkFortios(text: string, running: FortiosRunning = {}): GrammarProblem[] {
  const problems = new Problems();
  const state: State = { entries: [] };
  let path: string | undefined;
  let entry: Entry | undefined;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, i) => {
    const n = i + 1;
    if (raw.startsWith('#')) return;
    const depth = /^( *)/.exec(raw)![1]!.length;
    const body = raw.trim();
    const expected = path === undefined ? 0 : entry === undefined || body === 'next' ? 4 : 8;
    if (depth !== expected && !(body === 'end' && depth === 0)) problems.add(n, raw, `indented ${depth}, expected ${expected}`);
    if (path === undefined) {
      const m = /^config (.+)$/.exec(body);
      if (!m || !ATTRIBUTES[m[1]!]) problems.add(n, raw, 'top level: only "config vpn ipsec phase1-interface", "config vpn ipsec phase2-interface" or "config router static"');
      else path = m[1]!;
      return;
    }
    if (entry === undefined) {
      if (body === 'end') { path = undefined; return; }
      const m = /^edit (.+)$/.exec(body);
      if (!m) { problems.add(n, raw, `config ${path}: expected edit or end`); return; }
      const name = m[1]!;
      if (path === STATIC) { if (name !== '0') problems.add(n, raw, 'router static entries are added with edit 0'); }
      else {
        const q = QUOTED.exec(name);
        if (!q) problems.add(n, raw, 'an entry name is double-quoted');
        else if (q[1]!.length > LIMITS[path]!) problems.add(n, raw, `${path} names have at most ${LIMITS[path]} characters ("${q[1]}" has ${q[1]!.length})`);
      }
      entry = { path, name: QUOTED.exec(name)?.[1] ?? name, line: n, attrs: new Map() };
      state.entries.push(entry);
      return;
    }
    if (body === 'next') { entry = undefined; return; }
    const rules: LineRule<State>[] = [{
      pattern: /^set (\S+) (.+)$/,
      check: (m) => { const validate = ATTRIBUTES[path!]![m[1]!]; return validate ? validate(m[2]!) && `set ${m[1]} ${validate(m[2]!)}` : `no attribute "${m[1]}" in config ${path}`; },
      record: (m) => entry!.attrs.set(m[1]!, m[2]!),
    }];
    applyRules(rules, body, state, problems, n, raw, `config ${path} / edit ${entry.name}`);
  });
  if (path !== undefined) problems.add(lines.length, '', `config ${path} is not closed with end`);

  const phase1 = new Set([...(running.phase1 ?? [])]);
  const seen = new Map<string, number>();
  for (const e of state.entries) {
    if (e.path === STATIC) continue;
    const key = `${e.path} ${e.name}`;
    const existing = e.path === PHASE1 ? running.phase1 : running.phase2;
    if (seen.has(key) || existing?.includes(e.name)) problems.add(e.line, '', `edit "${e.name}" in ${e.path} changes an entry that already exists instead of adding one`);
    seen.set(key, e.line);
    if (e.path === PHASE1) phase1.add(e.name);
  }
  const interfaces = new Set(running.interfaces ?? ['wan1']);
  for (const e of state.entries) {
    const ref = (attr: string) => QUOTED.exec(e.attrs.get(attr) ?? '')?.[1];
    if (e.path === PHASE1) {
      for (const attr of ['interface', 'remote-gw', 'proposal', 'authmethod']) if (!e.attrs.has(attr)) problems.add(e.line, '', `phase1 "${e.name}" has no ${attr}`);
      const iface = ref('interface');
      if (iface !== undefined && !interfaces.has(iface)) problems.add(e.line, '', `phase1 "${e.name}": no interface "${iface}"`);
    }
    if (e.path === PHASE2) {
      const p1 = ref('phase1name');
      if (p1 === undefined || !phase1.has(p1)) problems.add(e.line, '', `phase2 "${e.name}": phase1name "${p1}" is not defined`);
    }
    if (e.path === STATIC) {
      const device = ref('device');
      if (device === undefined || !(phase1.has(device) || interfaces.has(device))) problems.add(e.line, '', `static route: device "${device}" is not an interface`);
    }
  }
  return problems.list;
}
