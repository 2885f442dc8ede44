// Syntax model of the Libreswan ipsec.conf conn sections and ipsec.secrets
// line the remote-config generator writes, per major version: the keywords
// of ipsec.conf(5) with their values, and what each version does with
// them. Libreswan 5 replaced ikev2= by keyexchange= ("ikev2=no has been
// replaced by keyexchange=ikev1") and ignores dpdaction= as obsolete (its
// own test suite: "warning: obsolete keyword ignored: dpdaction=clear") and
// dpdtimeout= under IKEv2; 4.x has no keyexchange=ikev1|ikev2.
import { isCidr4, isIpv4, Problems, type GrammarProblem } from './common.js';

type Check = (value: string) => string | undefined;
const only = (ok: boolean, message: string) => (ok ? undefined : message);
const oneOf = (...values: string[]): Check => (v) => only(values.includes(v), `is one of ${values.join(', ')}`);
const seconds: Check = (v) => only(/^\d+[smhd]?$/.test(v), 'is a time (a number with s, m, h or d)');
const ID: Check = (v) => only(/^(@\S+|"[^"]+"|\S+@\S+|[\d.]+|[0-9a-f:]+)$/.test(v), 'is @fqdn, an address, user@fqdn or a quoted DN');
const SUBNETS: Check = (v) => only(/^\{[^{}]+\}$/.test(v) && v.slice(1, -1).split(/[ ,]+/).every(isCidr4), 'is {prefix prefix ...}');

const CIPHER = '(aes128|aes192|aes256|aes|3des|aes_gcm(_a|_b|_c)?(128|192|256)?|chacha20_poly1305)';
const HASH = '(md5|sha1|sha2_256|sha2_384|sha2_512|aes_xcbc|null)';
const GROUP = '(modp1536|modp2048|modp3072|modp4096|modp6144|modp8192|dh19|dh20|dh21|dh31|modp1024)';
const plus = (x: string) => `${x}(\\+${x})*`;
const IKE_ALG = new RegExp(`^${plus(CIPHER)}-${plus(HASH)};${plus(GROUP)}$`);
const ESP_ALG = new RegExp(`^${plus(CIPHER)}-${plus(HASH)}(;${plus(GROUP)})?$`);
const algList = (pattern: RegExp, what: string): Check => (v) => only(v.split(',').every((a) => pattern.test(a)), `is a comma list of ${what} proposals (cipher-integ;dh)`);

const COMMON: Record<string, Check> = {
  authby: oneOf('secret', 'rsasig', 'ecdsa', 'rsa-sha2', 'null', 'never'),
  // an address, or a DNS name resolved when the connection loads
  left: (v) => only(isIpv4(v) || v.includes(':') || /^[A-Za-z0-9.-]+$/.test(v), 'is an address or a DNS name'),
  right: (v) => only(isIpv4(v) || v.includes(':') || /^[A-Za-z0-9.-]+$/.test(v), 'is an address or a DNS name'),
  leftid: ID,
  rightid: ID,
  leftcert: (v) => only(/^\S+$/.test(v), 'is a nickname'),
  leftsubnet: (v) => only(isCidr4(v), 'is one prefix'),
  rightsubnet: (v) => only(isCidr4(v), 'is one prefix'),
  leftsubnets: SUBNETS,
  rightsubnets: SUBNETS,
  ike: algList(IKE_ALG, 'IKE'),
  esp: algList(ESP_ALG, 'ESP'),
  pfs: oneOf('yes', 'no'),
  ikelifetime: seconds,
  salifetime: seconds,
  dpddelay: seconds,
  dpdtimeout: seconds,
  encapsulation: oneOf('yes', 'no', 'auto'),
  auto: oneOf('ignore', 'add', 'ondemand', 'start', 'keep', 'route'),
};
const V4: Record<string, Check> = { ikev2: oneOf('yes', 'no', 'insist', 'permit', 'propose', 'never'), dpdaction: oneOf('hold', 'clear', 'restart') };
const V5: Record<string, Check> = { keyexchange: oneOf('ikev1', 'ikev2') };
const V5_REPLACED: Record<string, string> = { ikev2: 'ikev2= has been replaced by keyexchange=', dpdaction: 'dpdaction= is an obsolete keyword (ignored): the action follows auto=' };

export function checkLibreswan(text: string, version: 4 | 5): GrammarProblem[] {
  const problems = new Problems();
  const keywords = { ...COMMON, ...(version === 4 ? V4 : V5) };
  let conn: { name: string; line: number; keys: Map<string, string> } | undefined;
  const conns: Array<NonNullable<typeof conn>> = [];
  text.split('\n').forEach((raw, i) => {
    const n = i + 1;
    if (raw === '' || raw.startsWith('#')) return;
    const header = /^conn ([A-Za-z0-9_.-]+)$/.exec(raw);
    if (header) { conn = { name: header[1]!, line: n, keys: new Map() }; conns.push(conn); return; }
    const setting = /^ {4}([a-z0-9-]+)=(.*)$/.exec(raw);
    if (setting && conn) {
      const [, key, value] = setting as unknown as [string, string, string];
      if (version === 5 && V5_REPLACED[key]) problems.add(n, raw, `Libreswan 5: ${V5_REPLACED[key]}`);
      else if (!keywords[key]) problems.add(n, raw, `conn ${conn.name}: "${key}=" is not a Libreswan ${version} keyword`);
      else { const wrong = keywords[key](value); if (wrong) problems.add(n, raw, `conn ${conn.name}: ${key}= ${wrong}`); }
      if (conn.keys.has(key)) problems.add(n, raw, `conn ${conn.name}: ${key}= given twice`);
      conn.keys.set(key, value);
      return;
    }
    if (/^\S+ \S+ : PSK "(?:[^"\\]|\\.)*"$/.test(raw)) { conn = undefined; return; }
    problems.add(n, raw, conn ? 'a conn setting is indented and key=value' : 'neither a conn header nor an ipsec.secrets entry');
  });
  for (const c of conns) {
    for (const key of ['left', 'right', 'authby', 'auto']) if (!c.keys.has(key)) problems.add(c.line, '', `conn ${c.name} has no ${key}=`);
    const ikev2 = version === 4 ? c.keys.get('ikev2') !== 'no' && c.keys.get('ikev2') !== 'never' : c.keys.get('keyexchange') !== 'ikev1';
    if (version === 5 && ikev2 && c.keys.has('dpdtimeout')) problems.add(c.line, '', `conn ${c.name}: Libreswan 5 ignores dpdtimeout= with IKEv2`);
    if (c.keys.has('leftsubnet') && c.keys.has('leftsubnets')) problems.add(c.line, '', `conn ${c.name}: leftsubnet= and leftsubnets= together`);
  }
  return problems.list;
}
