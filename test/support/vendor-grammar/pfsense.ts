// Syntax model of the pfSense config.xml <ipsec> fragment the remote-config
// generator writes: well-formed XML, only the elements pfSense's IPsec code
// reads (each at its place: ipsec/phase1/encryption/item/..., ipsec/phase2/
// localid/...), their value sets, and what a restore does with numbers that
// config.xml already uses: a phase 1 ikeid or phase 2 reqid that another
// entry has makes the two entries collide (pfSense hands out both itself,
// with ipsec_ikeid_next() and ipsec_new_reqid()).
import { intIn, isIpv4, Problems, type GrammarProblem } from './common.js';

export interface PfsenseRunning {
  ikeids?: number[];
  reqids?: number[];
  interfaces?: string[];
}

type Check = (value: string) => string | undefined;
const only = (ok: boolean, message: string) => (ok ? undefined : message);
const oneOf = (...values: string[]): Check => (v) => only(values.includes(v), `is one of ${values.join(', ')}`);
const int = (min: number, max: number): Check => (v) => only(intIn(v, min, max), `is an integer from ${min} to ${max}`);
const any: Check = () => undefined;
const HASH = oneOf('md5', 'sha1', 'sha256', 'sha384', 'sha512', 'aesxcbc');
const DH = oneOf(...['0', '1', '2', '5', '14', '15', '16', '17', '18', '19', '20', '21', '22', '23', '24', '25', '26', '27', '28', '29', '30', '31', '32']);
const ENC_NAME = oneOf('aes', 'aes128gcm', 'aes192gcm', 'aes256gcm', 'chacha20poly1305', '3des', 'blowfish', 'cast128');
const ID_TYPE = oneOf('myaddress', 'peeraddress', 'address', 'fqdn', 'user_fqdn', 'asn1dn', 'keyid tag', 'dyn_dns', 'auto');
const ADDRESS: Check = (v) => only(isIpv4(v) || v.includes(':'), 'is an address');

/** Element path (below <ipsec>) -> the check of its text; undefined marks a container. */
const ELEMENTS: Record<string, Check | undefined> = {
  phase1: undefined,
  'phase1/ikeid': int(1, 65535),
  'phase1/iketype': oneOf('ikev1', 'ikev2', 'auto'),
  'phase1/interface': any,
  'phase1/remote-gateway': any,
  'phase1/protocol': oneOf('inet', 'inet6', 'both'),
  'phase1/myid_type': ID_TYPE,
  'phase1/myid_data': any,
  'phase1/peerid_type': ID_TYPE,
  'phase1/peerid_data': any,
  'phase1/encryption': undefined,
  'phase1/encryption/item': undefined,
  'phase1/encryption/item/encryption-algorithm': undefined,
  'phase1/encryption/item/encryption-algorithm/name': ENC_NAME,
  'phase1/encryption/item/encryption-algorithm/keylen': oneOf('64', '96', '128', '192', '256'),
  'phase1/encryption/item/hash-algorithm': HASH,
  'phase1/encryption/item/prf-algorithm': HASH,
  'phase1/encryption/item/dhgroup': DH,
  'phase1/lifetime': int(0, 2147483647),
  'phase1/authentication_method': oneOf('pre_shared_key', 'cert', 'eap-tls', 'eap-mschapv2', 'eap-radius', 'hybrid_cert_server', 'xauth_psk_server', 'xauth_cert_server'),
  'phase1/pre-shared-key': any,
  'phase1/certref': any,
  'phase1/caref': any,
  'phase1/descr': any,
  'phase1/nat_traversal': oneOf('on', 'force'),
  'phase1/mobike': oneOf('on', 'off'),
  // pfSense checks only that these are whole numbers (is_numericint)
  'phase1/dpd_delay': int(1, 2147483647),
  'phase1/dpd_maxfail': int(1, 2147483647),
  phase2: undefined,
  'phase2/ikeid': int(1, 65535),
  'phase2/uniqid': (v) => only(/^[A-Za-z0-9]+$/.test(v), 'is letters and digits'),
  'phase2/mode': oneOf('tunnel', 'tunnel6', 'transport', 'vti'),
  'phase2/reqid': int(1, 2147483647),
  'phase2/localid': undefined,
  'phase2/remoteid': undefined,
  'phase2/localid/type': oneOf('network', 'address', 'lan', 'wan'),
  'phase2/localid/address': ADDRESS,
  'phase2/localid/netbits': int(0, 128),
  'phase2/remoteid/type': oneOf('network', 'address'),
  'phase2/remoteid/address': ADDRESS,
  'phase2/remoteid/netbits': int(0, 128),
  'phase2/protocol': oneOf('esp', 'ah'),
  'phase2/encryption-algorithm-option': undefined,
  'phase2/encryption-algorithm-option/name': ENC_NAME,
  'phase2/encryption-algorithm-option/keylen': oneOf('64', '96', '128', '192', '256'),
  'phase2/hash-algorithm-option': oneOf('hmac_md5', 'hmac_sha1', 'hmac_sha256', 'hmac_sha384', 'hmac_sha512', 'aesxcbc'),
  'phase2/pfsgroup': DH,
  'phase2/lifetime': int(0, 2147483647),
  'phase2/descr': any,
};

const TOKEN = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\/?([A-Za-z_][\w.-]*)>|[^<]+/g;

export function checkPfsense(text: string, running: PfsenseRunning = {}): GrammarProblem[] {
  const problems = new Problems();
  const stack: string[] = [];
  let content = '';
  let phase: { kind: string; values: Map<string, string[]> } | undefined;
  const phases: Array<{ kind: string; values: Map<string, string[]> }> = [];
  const lineOf = (offset: number) => text.slice(0, offset).split('\n').length;
  for (const m of text.matchAll(TOKEN)) {
    const token = m[0];
    const line = lineOf(m.index);
    if (token.startsWith('<!--')) continue;
    if (token.startsWith('<![CDATA[')) { content += token.slice(9, -3); continue; }
    if (!token.startsWith('<')) { content += token; continue; }
    const name = m[1]!;
    if (token.startsWith('</')) {
      const open = stack.pop();
      if (open !== name) { problems.add(line, token, `closes <${name}> but <${open}> is open`); return problems.list; }
      const path = stack.slice(1).concat(name).join('/');
      const check = ELEMENTS[path];
      if (stack.length >= 1 && check) {
        const wrong = check(content.trim());
        if (wrong) problems.add(line, token, `<${path}> "${content.trim()}" ${wrong}`);
        if (phase) phase.values.set(path.split('/').slice(1).join('/'), [...(phase.values.get(path.split('/').slice(1).join('/')) ?? []), content.trim()]);
      }
      if (stack.length === 1) phase = undefined;
      content = '';
      continue;
    }
    if (stack.length === 0) {
      if (name !== 'ipsec') problems.add(line, token, 'the fragment is one <ipsec> element');
    } else {
      const path = stack.slice(1).concat(name).join('/');
      if (!(path in ELEMENTS)) problems.add(line, token, `<${path}> is not an element of pfSense's <ipsec>`);
      if (stack.length === 1) { phase = { kind: name, values: new Map() }; phases.push(phase); }
    }
    if (content.trim() !== '') problems.add(line, token, 'text mixed with elements');
    stack.push(name);
    content = '';
  }
  if (stack.length > 0) problems.add(lineOf(text.length), '', `<${stack.at(-1)}> is not closed`);

  const ikeids = phases.filter((p) => p.kind === 'phase1').map((p) => p.values.get('ikeid')?.[0]);
  for (const id of ikeids) if (running.ikeids?.includes(Number(id))) problems.add(0, '', `phase 1 ikeid ${id} is already used in config.xml`);
  const interfaces = new Set(running.interfaces ?? ['wan']);
  for (const p of phases.filter((x) => x.kind === 'phase1')) {
    const iface = p.values.get('interface')?.[0];
    if (iface !== undefined && !interfaces.has(iface)) problems.add(0, '', `phase 1 interface ${iface} does not exist`);
  }
  const reqids = new Set<string>();
  for (const p of phases.filter((x) => x.kind === 'phase2')) {
    const ikeid = p.values.get('ikeid')?.[0];
    if (!ikeids.includes(ikeid)) problems.add(0, '', `phase 2 refers to ikeid ${ikeid}, which no phase 1 here has`);
    const reqid = p.values.get('reqid')?.[0] ?? '';
    if (reqids.has(reqid)) problems.add(0, '', `two phase 2 entries share reqid ${reqid}`);
    if (running.reqids?.includes(Number(reqid))) problems.add(0, '', `phase 2 reqid ${reqid} is already used in config.xml`);
    reqids.add(reqid);
  }
  return problems.list;
}
