// FortiOS CLI for the on-prem side: a route-based tunnel
// (config vpn ipsec phase1-interface / phase2-interface, one phase 2 per
// subnet pair) plus static routes into the tunnel interface. Phase 1
// proposals are "cipher-hash" pairs (aes256-sha256, aes256gcm-prfsha384)
// with one global dhgrp list; phase 2 likewise ("aes256gcm", "aes256-sha256").
import { RemoteConfigError } from './errors.js';
import { header, idKind, selectorPairs, subnetAndMask, type RemoteSite } from './model.js';
import { checkDhGroups, fortigateNames as N, ikePrfs, isAead, type Transforms } from './transforms.js';

const uniq = <T>(values: T[]): T[] => [...new Set(values)];
const q = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** FortiOS phase1-interface names are at most 15 characters (they name the tunnel interface). */
export function fortigatePhase1Name(peerName: string): string {
  return peerName.slice(0, 15);
}

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

export function renderFortigate(site: RemoteSite, peerPath: string): string {
  const p1 = fortigatePhase1Name(site.peerName);
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
    ...(p1 !== site.peerName ? [`# The phase 1 name is "${p1}": FortiOS allows 15 characters for an interface-mode tunnel.`] : []),
    '# The WAN interface is assumed to be "wan1"; add firewall policies between your LAN and the tunnel interface.',
    'config vpn ipsec phase1-interface',
    `    edit ${q(p1)}`,
    '        set interface "wan1"',
    `        set ike-version ${site.ikeVersion}`,
    '        set peertype any',
    '        set net-device disable',
    `        set proposal ${p1Words.join(' ')}`,
    `        set dhgrp ${p1Groups.join(' ')}`,
    `        set remote-gw ${site.remoteAddress}`,
    `        set keylife ${site.ikeRekeyTimeS}`,
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
      const name = selectorPairs(tunnel).length === 1 ? tunnel.name : `${tunnel.name}-${pair.index}`;
      lines.push(
        `    edit ${q(name)}`,
        `        set phase1name ${q(p1)}`,
        `        set proposal ${words.join(' ')}`,
        ...(tunnel.pfsGroups.length > 0 ? ['        set pfs enable', `        set dhgrp ${tunnel.pfsGroups.join(' ')}`] : ['        set pfs disable']),
        `        set keylifeseconds ${tunnel.rekeyTimeS}`,
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
