// strongSwan proposal keywords (docs.strongswan.org "IKEv2 Cipher Suites"),
// and the defaults Junction offers. A proposal is "-"-joined keywords:
// encryption, then integrity (not with AEAD), PRF (IKE only), DH groups.
// Pure: no I/O.

export type ProposalKind = 'ike' | 'esp';

const AES_SIZES = ['128', '192', '256'];
const ICV = ['8', '12', '16', '64', '96', '128'];

/** AEAD ciphers: they carry their own integrity. */
export const AEAD_ALGORITHMS: ReadonlySet<string> = new Set([
  ...AES_SIZES.flatMap((s) => ICV.flatMap((icv) => [`aes${s}gcm${icv}`, `aes${s}ccm${icv}`])),
  ...ICV.flatMap((icv) => [`aesgcm${icv}`, `aesccm${icv}`]),
  'chacha20poly1305',
]);

export const ENCRYPTION_ALGORITHMS: ReadonlySet<string> = new Set([
  ...AEAD_ALGORITHMS,
  'aes', ...AES_SIZES.flatMap((s) => [`aes${s}`, `aes${s}ctr`]),
  ...AES_SIZES.map((s) => `camellia${s}`), 'camellia',
  '3des', 'cast128', 'blowfish128', 'blowfish192', 'blowfish256',
  'null',
]);

export const INTEGRITY_ALGORITHMS: ReadonlySet<string> = new Set([
  'md5', 'md5_128', 'sha1', 'sha', 'sha1_160', 'aesxcbc', 'aescmac',
  'aes128gmac', 'aes192gmac', 'aes256gmac',
  'sha256', 'sha2_256', 'sha256_96', 'sha2_256_96', 'sha384', 'sha2_384', 'sha512', 'sha2_512',
]);

export const PRF_ALGORITHMS: ReadonlySet<string> = new Set([
  'prfmd5', 'prfsha1', 'prfaesxcbc', 'prfaescmac', 'prfsha256', 'prfsha384', 'prfsha512',
]);

/** DH groups by keyword, with their IANA numbers (modp2048 = 14, ecp256 = 19, ecp384 = 20, ecp521 = 21). */
export const DH_GROUPS: ReadonlyMap<string, number> = new Map([
  ['modp768', 1], ['modp1024', 2], ['modp1536', 5], ['modp2048', 14], ['modp3072', 15], ['modp4096', 16],
  ['modp6144', 17], ['modp8192', 18], ['modp1024s160', 22], ['modp2048s224', 23], ['modp2048s256', 24],
  ['ecp192', 25], ['ecp224', 26], ['ecp256', 19], ['ecp384', 20], ['ecp521', 21],
  ['ecp224bp', 27], ['ecp256bp', 28], ['ecp384bp', 29], ['ecp512bp', 30],
  ['curve25519', 31], ['x25519', 31], ['curve448', 32], ['x448', 32],
]);

/** ESP only: extended sequence numbers. */
const ESP_FLAGS: ReadonlySet<string> = new Set(['esn', 'noesn']);

/** GCM first: AES-NI makes it the fastest (and it needs no separate integrity). */
export const DEFAULT_IKE_PROPOSALS = ['aes256gcm16-prfsha384-ecp384', 'aes128gcm16-prfsha256-ecp256', 'aes256-sha256-modp2048'];
/** IKEv1 has no AEAD for the IKE SA itself (ESP may still use GCM). */
export const DEFAULT_IKEV1_PROPOSALS = ['aes256-sha256-modp2048', 'aes128-sha256-modp2048'];
export const DEFAULT_ESP_PROPOSALS = ['aes256gcm16-ecp256', 'aes128gcm16-ecp256', 'aes256-sha256-modp2048'];

export interface ParsedProposal {
  encryption: string[];
  integrity: string[];
  prf: string[];
  dh: string[];
  flags: string[];
}

export function parseProposal(text: string): ParsedProposal & { unknown: string[] } {
  const out = { encryption: [] as string[], integrity: [] as string[], prf: [] as string[], dh: [] as string[], flags: [] as string[], unknown: [] as string[] };
  for (const token of text.split('-')) {
    if (ENCRYPTION_ALGORITHMS.has(token)) out.encryption.push(token);
    else if (INTEGRITY_ALGORITHMS.has(token)) out.integrity.push(token);
    else if (PRF_ALGORITHMS.has(token)) out.prf.push(token);
    else if (DH_GROUPS.has(token)) out.dh.push(token);
    else if (ESP_FLAGS.has(token)) out.flags.push(token);
    else out.unknown.push(token);
  }
  return out;
}

/** Why a proposal would be refused by charon (or make no sense), or undefined when it is fine. */
export function proposalProblem(text: string, kind: ProposalKind, ikeVersion: 1 | 2 = 2): string | undefined {
  const p = parseProposal(text);
  if (p.unknown.length) return `unknown algorithm keyword${p.unknown.length > 1 ? 's' : ''} ${p.unknown.map((u) => `"${u}"`).join(', ')} in "${text}"`;
  if (!p.encryption.length) return `"${text}" names no encryption algorithm`;
  const aead = p.encryption.filter((e) => AEAD_ALGORITHMS.has(e));
  if (aead.length && aead.length !== p.encryption.length) return `"${text}" mixes AEAD and non-AEAD encryption; give them as separate proposals`;
  if (aead.length && p.integrity.length) return `"${text}": AEAD encryption (${aead[0]}) carries its own integrity; drop ${p.integrity[0]}`;
  if (!aead.length && !p.integrity.length && !p.encryption.includes('null')) return `"${text}" needs an integrity algorithm (e.g. sha256) with non-AEAD encryption`;
  if (kind === 'ike') {
    if (p.flags.length) return `"${p.flags[0]}" is an ESP option, not for IKE proposals`;
    if (p.encryption.includes('null')) return `"${text}": null encryption is not allowed for IKE`;
    if (!p.dh.length) return `IKE proposal "${text}" needs a DH group (e.g. ecp256, modp2048)`;
    if (aead.length && !p.prf.length) return `IKE proposal "${text}" with AEAD encryption needs a PRF (e.g. prfsha256)`;
    if (ikeVersion === 1 && aead.length) return `IKEv1 cannot use AEAD (${aead[0]}) for the IKE SA; use e.g. aes256-sha256-modp2048`;
  } else if (p.prf.length) {
    return `"${p.prf[0]}" is a PRF, which ESP proposals do not take`;
  }
  return undefined;
}

/** ESP proposals with PFS: a DH group appended where none is given; without PFS: DH groups removed. */
export function espProposalsWithPfs(proposals: string[], pfs: boolean, pfsGroup: string): string[] {
  const out = proposals.map((text) => {
    const tokens = text.split('-');
    const hasDh = tokens.some((t) => DH_GROUPS.has(t));
    if (pfs) return hasDh ? text : `${text}-${pfsGroup}`;
    return tokens.filter((t) => !DH_GROUPS.has(t)).join('-');
  });
  return [...new Set(out)];
}

/** The first DH group of a proposal list (for PFS), default ecp256. */
export function firstDhGroup(proposals: string[]): string {
  for (const text of proposals) {
    const dh = text.split('-').find((t) => DH_GROUPS.has(t));
    if (dh) return dh;
  }
  return 'ecp256';
}
