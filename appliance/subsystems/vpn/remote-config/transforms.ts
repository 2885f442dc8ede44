// The shared proposal translation table for the remote-side generators:
// strongSwan proposal keyword -> IKE transform (RFC 7296 / IANA names) ->
// each vendor's own name. A generator asks for a vendor's name of a
// transform and gets a RemoteConfigError naming the proposal when the vendor
// cannot express it (an unsupported DH group, GCM in IKEv1, ...). Pure: no I/O.
import { RemoteConfigError } from './errors.js';

export type Vendor = 'strongswan' | 'libreswan' | 'cisco-asa' | 'fortigate' | 'paloalto' | 'pfsense';

export type CipherMode = 'cbc' | 'gcm' | '3des' | 'chacha20poly1305';

export interface Cipher {
  mode: CipherMode;
  /** key length in bits (AES: 128/192/256; 3DES 192; ChaCha20 256) */
  keyBits: number;
  /** AEAD ICV length in bytes (GCM: 8, 12 or 16; ChaCha20-Poly1305: 16) */
  icvBytes?: number;
}

export type Hash = 'md5' | 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'aesxcbc';

export interface Transforms {
  /** the strongSwan proposal it was parsed from, for error messages */
  source: string;
  ciphers: Cipher[];
  /** integrity algorithms (HMAC); empty for AEAD-only proposals */
  integrity: Hash[];
  /** PRFs given explicitly (prfsha384); IKE only */
  prf: Hash[];
  /** DH groups by IANA number */
  dhGroups: number[];
}

export const isAead = (cipher: Cipher): boolean => cipher.mode === 'gcm' || cipher.mode === 'chacha20poly1305';

/** strongSwan DH keyword -> IANA group number (RFC 3526, 5114, 5903, 7027, 8031). */
export const DH_GROUPS: Record<string, number> = {
  modp768: 1,
  modp1024: 2,
  modp1536: 5,
  modp2048: 14,
  modp3072: 15,
  modp4096: 16,
  modp6144: 17,
  modp8192: 18,
  ecp256: 19,
  ecp384: 20,
  ecp521: 21,
  modp1024s160: 22,
  modp2048s224: 23,
  modp2048s256: 24,
  ecp192: 25,
  ecp224: 26,
  ecp224bp: 27,
  ecp256bp: 28,
  ecp384bp: 29,
  ecp512bp: 30,
  curve25519: 31,
  x25519: 31,
  curve448: 32,
  x448: 32,
};

const HASHES: Record<string, Hash> = {
  md5: 'md5',
  sha: 'sha1',
  sha1: 'sha1',
  sha256: 'sha256',
  sha2_256: 'sha256',
  sha384: 'sha384',
  sha2_384: 'sha384',
  sha512: 'sha512',
  sha2_512: 'sha512',
  aesxcbc: 'aesxcbc',
};

/** The strongSwan keyword of a DH group (first spelling in the table). */
export function dhKeyword(group: number): string {
  const entry = Object.entries(DH_GROUPS).find(([, g]) => g === group);
  if (!entry) throw new Error(`unknown DH group ${group}`);
  return entry[0];
}

function parseCipher(token: string): Cipher | undefined {
  if (token === '3des') return { mode: '3des', keyBits: 192 };
  if (token === 'chacha20poly1305') return { mode: 'chacha20poly1305', keyBits: 256, icvBytes: 16 };
  const gcm = /^aes(128|192|256)gcm(8|12|16|64|96|128)?$/.exec(token);
  if (gcm) {
    const icv = gcm[2] === undefined ? 16 : Number(gcm[2]) > 16 ? Number(gcm[2]) / 8 : Number(gcm[2]);
    return { mode: 'gcm', keyBits: Number(gcm[1]), icvBytes: icv };
  }
  const cbc = /^aes(128|192|256)?$/.exec(token);
  if (cbc) return { mode: 'cbc', keyBits: cbc[1] ? Number(cbc[1]) : 128 };
  return undefined;
}

/**
 * Parses one strongSwan proposal ("aes256gcm16-prfsha384-ecp384",
 * "aes256-sha256-modp2048"). Keywords outside the table are rejected: a
 * generator must never guess what a vendor would make of them.
 */
export function parseProposal(proposal: string, kind: 'ike' | 'esp', path: string): Transforms {
  const t: Transforms = { source: proposal, ciphers: [], integrity: [], prf: [], dhGroups: [] };
  for (const token of proposal.split('-')) {
    const cipher = parseCipher(token);
    if (cipher) {
      t.ciphers.push(cipher);
      continue;
    }
    if (token in HASHES) {
      t.integrity.push(HASHES[token]!);
      continue;
    }
    if (token.startsWith('prf') && token.slice(3) in HASHES) {
      if (kind === 'esp') throw new RemoteConfigError(`proposal "${proposal}": a PRF (${token}) has no meaning in an ESP proposal`, path);
      t.prf.push(HASHES[token.slice(3)]!);
      continue;
    }
    if (token in DH_GROUPS) {
      t.dhGroups.push(DH_GROUPS[token]!);
      continue;
    }
    if (token === 'esn' || token === 'noesn') continue;
    throw new RemoteConfigError(`proposal "${proposal}": "${token}" is not in Junction's proposal translation table (AES-CBC/GCM, 3DES, ChaCha20-Poly1305, MD5/SHA-1/SHA-2/AES-XCBC, MODP/ECP/Curve25519 groups)`, path);
  }
  if (t.ciphers.length === 0) throw new RemoteConfigError(`proposal "${proposal}" names no encryption algorithm`, path);
  const aead = t.ciphers.filter(isAead);
  if (aead.length > 0 && aead.length < t.ciphers.length) {
    throw new RemoteConfigError(`proposal "${proposal}" mixes AEAD (GCM/ChaCha20) and non-AEAD ciphers; split it into two proposals`, path);
  }
  if (aead.length === 0 && t.integrity.length === 0) throw new RemoteConfigError(`proposal "${proposal}": a non-AEAD cipher needs an integrity algorithm`, path);
  if (kind === 'ike' && t.dhGroups.length === 0) throw new RemoteConfigError(`IKE proposal "${proposal}" names no DH group`, path);
  return t;
}

/** The PRFs an IKE proposal negotiates: explicit ones, else those implied by the integrity algorithms. */
export function ikePrfs(t: Transforms): Hash[] {
  if (t.prf.length > 0) return t.prf;
  if (t.integrity.length > 0) return t.integrity;
  // AEAD without a PRF: strongSwan proposes every PRF it has; name the common default
  return ['sha256'];
}

// ---------------------------------------------------------------- vendor names

function unsupported(vendor: string, what: string, t: Transforms, path: string, hint = ''): never {
  throw new RemoteConfigError(`${vendor} cannot express ${what} (proposal "${t.source}")${hint ? `; ${hint}` : ''}`, path);
}

/** Groups each vendor accepts (documented lists; see the per-vendor notes). */
export const VENDOR_DH_GROUPS: Record<Exclude<Vendor, 'strongswan'>, number[]> = {
  // libreswan: modp1536..modp8192, dh19-21, dh31 (modp1024 only with a build option)
  libreswan: [2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 31],
  // ASA 9.x: crypto ikev2 policy group / crypto map set pfs group
  'cisco-asa': [1, 2, 5, 14, 15, 16, 19, 20, 21, 24, 31],
  // FortiOS: set dhgrp
  fortigate: [1, 2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 27, 28, 29, 30, 31, 32],
  // PAN-OS 10.2+: dh-group group1..group21 (no Curve25519)
  paloalto: [1, 2, 5, 14, 15, 16, 19, 20, 21],
  // pfSense: $p1_dhgroups / $p2_pfskeygroups
  pfsense: [1, 2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32],
};

const VENDOR_LABEL: Record<Vendor, string> = {
  strongswan: 'strongSwan',
  libreswan: 'Libreswan',
  'cisco-asa': 'Cisco ASA',
  fortigate: 'FortiGate',
  paloalto: 'PAN-OS',
  pfsense: 'pfSense',
};

export function checkDhGroups(vendor: Exclude<Vendor, 'strongswan'>, t: Transforms, path: string): void {
  for (const group of t.dhGroups) {
    if (!VENDOR_DH_GROUPS[vendor].includes(group)) {
      unsupported(VENDOR_LABEL[vendor], `DH group ${group} (${dhKeyword(group)})`, t, path, `it accepts groups ${VENDOR_DH_GROUPS[vendor].join(', ')}`);
    }
  }
}

function requireIcv16(vendor: Vendor, c: Cipher, t: Transforms, path: string): void {
  if (c.mode === 'gcm' && c.icvBytes !== 16) unsupported(VENDOR_LABEL[vendor], `AES-GCM with a ${c.icvBytes}-byte ICV`, t, path, 'use aes128gcm16/aes256gcm16');
}

/** Libreswan ike=/esp= algorithm names. */
export const libreswanNames = {
  cipher(c: Cipher, t: Transforms, path: string): string {
    switch (c.mode) {
      case 'cbc':
        return `aes${c.keyBits}`;
      case '3des':
        return '3des';
      case 'gcm':
        // aes_gcm_a/b/c = 8/12/16-byte ICV; aes_gcm is aes_gcm_c
        return `aes_gcm${c.icvBytes === 8 ? '_a' : c.icvBytes === 12 ? '_b' : ''}${c.keyBits}`;
      case 'chacha20poly1305':
        return 'chacha20_poly1305';
    }
    return unsupported('Libreswan', `cipher ${JSON.stringify(c)}`, t, path);
  },
  hash(h: Hash): string {
    return { md5: 'md5', sha1: 'sha1', sha256: 'sha2_256', sha384: 'sha2_384', sha512: 'sha2_512', aesxcbc: 'aes_xcbc' }[h];
  },
  dh(group: number): string {
    return group <= 18 ? dhKeyword(group) : `dh${group}`;
  },
};

const HASH_LABEL: Record<Hash, string> = { md5: 'MD5', sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512', aesxcbc: 'AES-XCBC' };

/**
 * ASA 9.x documents SHA-2 (sha256/384/512) as IKEv2 options only: its IKEv1
 * policy takes "hash sha|md5" and its IKEv1 transform sets esp-sha-hmac or
 * esp-md5-hmac (Cisco's FMC/CDO data models list the same: IKEv1 hash SHA or
 * MD5, DH groups up to 14; groups 19-24 are rejected for IKEv1).
 */
const ASA_IKEV1_SHA2_HINT = 'the ASA offers SHA-2 integrity with IKEv2 only: set ike_version 2 on this peer, or use a SHA-1 proposal such as aes256-sha1-modp2048';
const ASA_IKEV1_DH_GROUPS = [1, 2, 5, 14];

/** Cisco ASA names: IKEv2 policy / ipsec-proposal, IKEv1 policy / transform-set. */
export const asaNames = {
  ikev2Encryption(c: Cipher, t: Transforms, path: string): string {
    requireIcv16('cisco-asa', c, t, path);
    if (c.mode === 'cbc') return c.keyBits === 128 ? 'aes' : `aes-${c.keyBits}`;
    if (c.mode === 'gcm') return c.keyBits === 128 ? 'aes-gcm' : `aes-gcm-${c.keyBits}`;
    if (c.mode === '3des') return '3des';
    return unsupported('Cisco ASA', 'ChaCha20-Poly1305', t, path);
  },
  ikev2Integrity(h: Hash, t: Transforms, path: string): string {
    if (h === 'aesxcbc') unsupported('Cisco ASA', 'AES-XCBC integrity', t, path);
    return h === 'sha1' ? 'sha' : h;
  },
  espEncryption(c: Cipher, t: Transforms, path: string): string {
    requireIcv16('cisco-asa', c, t, path);
    if (c.mode === 'cbc') return c.keyBits === 128 ? 'aes' : `aes-${c.keyBits}`;
    if (c.mode === 'gcm') return c.keyBits === 128 ? 'aes-gcm' : `aes-gcm-${c.keyBits}`;
    if (c.mode === '3des') return '3des';
    return unsupported('Cisco ASA', 'ChaCha20-Poly1305', t, path);
  },
  espIntegrity(h: Hash, t: Transforms, path: string): string {
    if (h === 'aesxcbc') unsupported('Cisco ASA', 'AES-XCBC integrity', t, path);
    return { md5: 'md5', sha1: 'sha-1', sha256: 'sha-256', sha384: 'sha-384', sha512: 'sha-512' }[h];
  },
  ikev1Encryption(c: Cipher, t: Transforms, path: string): string {
    if (c.mode === 'cbc') return c.keyBits === 128 ? 'aes' : `aes-${c.keyBits}`;
    if (c.mode === '3des') return '3des';
    return unsupported('Cisco ASA', `${c.mode === 'gcm' ? 'AES-GCM' : 'ChaCha20-Poly1305'} with IKEv1`, t, path, 'use IKEv2 or AES-CBC');
  },
  /** IKEv1 policy hash: sha or md5 only; the ASA documents SHA-2 for IKEv2 alone. */
  ikev1Hash(h: Hash, t: Transforms, path: string): string {
    if (h === 'aesxcbc') unsupported('Cisco ASA', 'AES-XCBC with IKEv1', t, path);
    if (h !== 'sha1' && h !== 'md5') unsupported('Cisco ASA', `${HASH_LABEL[h]} with IKEv1`, t, path, ASA_IKEV1_SHA2_HINT);
    return h === 'sha1' ? 'sha' : 'md5';
  },
  ikev1Group(group: number, t: Transforms, path: string): number {
    if (!ASA_IKEV1_DH_GROUPS.includes(group)) unsupported('Cisco ASA', `DH group ${group} with IKEv1`, t, path, `its IKEv1 policies take groups ${ASA_IKEV1_DH_GROUPS.join(', ')}; use IKEv2 for ECP groups`);
    return group;
  },
  /** IKEv1 transform-set: esp-aes-256 esp-sha256-hmac */
  ikev1EspEncryption(c: Cipher, t: Transforms, path: string): string {
    if (c.mode === 'cbc') return c.keyBits === 128 ? 'esp-aes' : `esp-aes-${c.keyBits}`;
    if (c.mode === '3des') return 'esp-3des';
    return unsupported('Cisco ASA', `${c.mode === 'gcm' ? 'AES-GCM' : 'ChaCha20-Poly1305'} in an IKEv1 transform set`, t, path, 'use IKEv2 or AES-CBC');
  },
  /** IKEv1 transform set: esp-sha-hmac or esp-md5-hmac only (esp-sha256-hmac is IOS spelling, not ASA). */
  ikev1EspIntegrity(h: Hash, t: Transforms, path: string): string {
    if (h === 'aesxcbc') unsupported('Cisco ASA', 'AES-XCBC in an IKEv1 transform set', t, path);
    if (h !== 'sha1' && h !== 'md5') unsupported('Cisco ASA', `${HASH_LABEL[h]} in an IKEv1 transform set`, t, path, ASA_IKEV1_SHA2_HINT);
    return h === 'sha1' ? 'esp-sha-hmac' : 'esp-md5-hmac';
  },
};

/** FortiOS phase1/phase2 proposal words ("aes256-sha256", "aes256gcm-prfsha384", "aes256gcm"). */
export const fortigateNames = {
  cipher(c: Cipher, t: Transforms, path: string): string {
    requireIcv16('fortigate', c, t, path);
    if (c.mode === 'cbc') return `aes${c.keyBits}`;
    if (c.mode === 'gcm') {
      if (c.keyBits === 192) unsupported('FortiGate', 'AES-192-GCM', t, path);
      return `aes${c.keyBits}gcm`;
    }
    if (c.mode === '3des') return '3des';
    return 'chacha20poly1305';
  },
  hash(h: Hash, t: Transforms, path: string): string {
    if (h === 'aesxcbc') unsupported('FortiGate', 'AES-XCBC', t, path);
    return h;
  },
};

/** PAN-OS crypto profile names. */
export const paloaltoNames = {
  ikeEncryption(c: Cipher, ikeVersion: 1 | 2, t: Transforms, path: string): string {
    requireIcv16('paloalto', c, t, path);
    if (c.mode === 'cbc') return `aes-${c.keyBits}-cbc`;
    if (c.mode === '3des') return '3des';
    if (c.mode === 'gcm') {
      if (ikeVersion === 1) unsupported('PAN-OS', 'AES-GCM with IKEv1', t, path, 'use IKEv2 or AES-CBC');
      if (c.keyBits === 192) unsupported('PAN-OS', 'AES-192-GCM', t, path);
      return `aes-${c.keyBits}-gcm`;
    }
    return unsupported('PAN-OS', 'ChaCha20-Poly1305', t, path);
  },
  espEncryption(c: Cipher, t: Transforms, path: string): string {
    requireIcv16('paloalto', c, t, path);
    if (c.mode === 'cbc') return `aes-${c.keyBits}-cbc`;
    if (c.mode === '3des') return '3des';
    if (c.mode === 'gcm') {
      if (c.keyBits === 192) unsupported('PAN-OS', 'AES-192-GCM', t, path);
      return `aes-${c.keyBits}-gcm`;
    }
    return unsupported('PAN-OS', 'ChaCha20-Poly1305', t, path);
  },
  hash(h: Hash, t: Transforms, path: string): string {
    if (h === 'aesxcbc') unsupported('PAN-OS', 'AES-XCBC', t, path);
    return h;
  },
  dh(group: number): string {
    return `group${group}`;
  },
};

/** pfSense config.xml names ($p1_ealgos, $p1_halgos, $p2_halgos). */
export const pfsenseNames = {
  cipher(c: Cipher, t: Transforms, path: string): { name: string; keylen: number | undefined } {
    if (c.mode === 'cbc') return { name: 'aes', keylen: c.keyBits };
    // GCM: the key length field holds the ICV length in bits
    if (c.mode === 'gcm') return { name: `aes${c.keyBits}gcm`, keylen: (c.icvBytes ?? 16) * 8 };
    if (c.mode === '3des') return { name: '3des', keylen: undefined };
    return unsupported('pfSense', 'ChaCha20-Poly1305', t, path);
  },
  p1Hash(h: Hash): string {
    return h;
  },
  p2Hash(h: Hash): string {
    return h === 'aesxcbc' ? 'aesxcbc' : `hmac_${h}`;
  },
};
