// FortiOS CLI for the on-prem side: a route-based tunnel
// (config vpn ipsec phase1-interface / phase2-interface, one phase 2 per
// subnet pair) plus static routes into the tunnel interface. Phase 1
// proposals are "cipher-hash" pairs (aes256-sha256, aes256gcm-prfsha384)
// with one global dhgrp list; phase 2 likewise ("aes256gcm", "aes256-sha256").
// Phase 1 names become interface names (15 characters at most) and phase 2
// names are global (35 at most), so both are derived from the peer and kept
// distinct across every peer of the document.
import { RemoteConfigError } from './errors.js';
import { header, idKind, selectorPairs, subnetAndMask, type RemoteSite } from './model.js';
import { shortName, type RenderContext } from './params.js';
import { checkDhGroups, fortigateNames as N, ikePrfs, isAead, type Transforms } from './transforms.js';

const uniq = <T>(values: T[]): T[] => [...new Set(values)];
const q = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** FortiOS phase1-interface names name the tunnel interface: at most 15 characters. */
export const FORTIGATE_PHASE1_MAX = 15;
/** FortiOS phase2-interface names: at most 35 characters. */
export const FORTIGATE_PHASE2_MAX = 35;

/**
 * The phase 1 name of every peer of a document: the peer name when it fits
 * in 15 characters, else its first 10 characters (a trailing "-" dropped)
 * and a 4-hex hash of the whole name (shortName). Names
 * that fit are taken first, then the long ones in sorted order, each moving
 * to the next hash when its name is taken, so the result depends only on the
 * set of peer names and no two peers share one.
 */
export function fortigatePhase1Names(peerNames: readonly string[]): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  for (const peer of peerNames) {
    if (peer.length <= FORTIGATE_PHASE1_MAX) {
      names.set(peer, peer);
      taken.add(peer);
    }
  }
  for (const peer of [...peerNames].filter((n) => n.length > FORTIGATE_PHASE1_MAX).sort()) {
    let attempt = 0;
    let name = shortName(peer, FORTIGATE_PHASE1_MAX);
    while (taken.has(name)) name = shortName(peer, FORTIGATE_PHASE1_MAX, ++attempt);
    names.set(peer, name);
    taken.add(name);
  }
  return names;
}

/**
 * FortiOS keylife / keylifeseconds: 120 to 172800 s. Lifetimes are not
 * negotiated in IKEv2 and IKEv1 takes the shorter one, so the nearest
 * bound only changes which side rekeys first.
 */
const fortiLifetime = (seconds: number): number => Math.min(172_800, Math.max(120, seconds));

function phase1Words(t: Transforms, path: string): string[] {
  const aead = t.ciphers.some(isAead);
  const words: string[] = [];
  for (const c of t.ciphers) {
    const cipher = N.cipher(c, t, path);
    for (const h of aead ? ikePrfs(t) : t.integrity) words.push(aead ? `${cipher}-prf${N.hash(h, t, path)}` : `${cipher}-${N.hash(h, t, path)}`);
  }
  return words;
}

function phase2Words(t: Transforms, path: string): string[] {
  const aead = t.ciphers.some(isAead);
  const words: string[] = [];
  for (const c of t.ciphers) {
    const cipher = N.cipher(c, t, path);
    if (aead) words.push(cipher);
    else for (const h of t.integrity) words.push(`${cipher}-${N.hash(h, t, path)}`);
  }
  return words;
}

const LOCALID_TYPE = { address: 'address', fqdn: 'fqdn', email: 'user-fqdn', dn: 'asn1dn' } as const;

export function renderFortigate(site: RemoteSite, ctx: RenderContext): string {
  const { peerPath } = ctx;
  const p1 = fortigatePhase1Names(ctx.peerNames).get(site.peerName)!;
  const wan = ctx.params.wan_interface ?? 'wan1';
  site.ike.forEach((t, i) => {
    checkDhGroups('fortigate', t, `${peerPath}/ike_proposals/${i}`);
    if (site.ikeVersion === 1 && t.ciphers.some(isAead)) {
      throw new RemoteConfigError(`FortiGate cannot express AES-GCM/ChaCha20 phase 1 proposals with IKEv1 (proposal "${t.source}"); use IKEv2 or AES-CBC`, `${peerPath}/ike_proposals/${i}`);
    }
  });
  const p1Words = uniq(site.ike.flatMap((t, i) => phase1Words(t, `${peerPath}/ike_proposals/${i}`)));
  const p1Groups = uniq(site.ike.flatMap((t) => t.dhGroups));
  const lines = [
    ...header(site, '#', 'FortiGate (FortiOS CLI)'),
    '# Assumed on this FortiGate (change with the query parameter named):',
    `#   interface "${wan}" holds ${site.localAddress} (wan_interface)`,
    `#   phase 1 "${p1}" and phase 2 names starting "${p1}-" are not in use (derived from the peer name${p1 !== site.peerName ? '; FortiOS allows 15 characters for an interface-mode phase 1' : ''})`,
    '# Add firewall policies between your LAN and the tunnel interface; none are generated.',
    'config vpn ipsec phase1-interface',
    `    edit ${q(p1)}`,
    `        set interface ${q(wan)}`,
    `        set ike-version ${site.ikeVersion}`,
    '        set peertype any',
    '        set net-device disable',
    `        set proposal ${p1Words.join(' ')}`,
    `        set dhgrp ${p1Groups.join(' ')}`,
    `        set remote-gw ${site.remoteAddress}`,
    `        set keylife ${fortiLifetime(site.ikeRekeyTimeS)}`,
    `        set localid-type ${LOCALID_TYPE[idKind(site.localId)]}`,
    `        set localid ${q(site.localId)}`,
    ...(site.dpdDelayS > 0 ? ['        set dpd on-idle', `        set dpd-retryinterval ${site.dpdDelayS}`] : ['        set dpd disable']),
    ...(site.forceEncap ? ['        set nattraversal forced'] : ['        set nattraversal enable']),
    ...(site.auth.method === 'psk'
      ? ['        set authmethod psk', `        set psksecret ${q(site.auth.psk)}`]
      : ['        set authmethod signature', `        set certificate ${q(`junction-${site.peerName}`)}`, `        set peerid ${q(site.remoteId)}`]),
    '    next',
    'end',
    'config vpn ipsec phase2-interface',
  ];
  site.tunnels.forEach((tunnel, ti) => {
    const path = `${peerPath}/tunnels/${ti}`;
    tunnel.esp.forEach((t, i) => checkDhGroups('fortigate', t, `${path}/esp_proposals/${i}`));
    const words = uniq(tunnel.esp.flatMap((t, i) => phase2Words(t, `${path}/esp_proposals/${i}`)));
    for (const pair of selectorPairs(tunnel)) {
      const [la, lm] = subnetAndMask(pair.local, 'FortiGate', `${path}/remote_subnets`);
      const [ra, rm] = subnetAndMask(pair.remote, 'FortiGate', `${path}/local_subnets`);
      const name = shortName(selectorPairs(tunnel).length === 1 ? `${p1}-${tunnel.name}` : `${p1}-${tunnel.name}-${pair.index}`, FORTIGATE_PHASE2_MAX);
      lines.push(
        `    edit ${q(name)}`,
        `        set phase1name ${q(p1)}`,
        `        set proposal ${words.join(' ')}`,
        ...(tunnel.pfsGroups.length > 0 ? ['        set pfs enable', `        set dhgrp ${tunnel.pfsGroups.join(' ')}`] : ['        set pfs disable']),
        `        set keylifeseconds ${fortiLifetime(tunnel.rekeyTimeS)}`,
        `        set src-subnet ${la} ${lm}`,
        `        set dst-subnet ${ra} ${rm}`,
        ...(tunnel.startAction === 'start' ? ['        set auto-negotiate enable'] : []),
        '    next',
      );
    }
  });
  lines.push('end', 'config router static');
  const remote = uniq(site.tunnels.flatMap((t) => t.remoteSubnets));
  for (const subnet of remote) {
    const [a, m] = subnetAndMask(subnet, 'FortiGate', `${peerPath}/tunnels`);
    lines.push('    edit 0', `        set dst ${a} ${m}`, `        set device ${q(p1)}`, '    next');
  }
  lines.push('end');
  return lines.join('\n') + '\n';
}
