// PAN-OS set commands for the on-prem side: an IKE crypto profile and an
// IPsec crypto profile holding Junction's algorithms, an IKE gateway, a
// route-based IPsec tunnel with one proxy-id per subnet pair (PAN-OS
// negotiates one CHILD_SA per proxy-id), and static routes into the tunnel.
import { header, idKind, selectorPairs, type RemoteSite } from './model.js';
import { checkDhGroups, ikePrfs, isAead, paloaltoNames as N } from './transforms.js';

const uniq = <T>(values: T[]): T[] => [...new Set(values)];
const q = (s: string): string => (/^[A-Za-z0-9@._:/-]+$/.test(s) ? s : `"${s.replace(/"/g, '\\"')}"`);
const ID_TYPE = { address: 'ipaddr', fqdn: 'fqdn', email: 'ufqdn', dn: 'dn' } as const;

export function renderPaloalto(site: RemoteSite, peerPath: string): string {
  const name = `junction-${site.peerName}`;
  const v = site.ikeVersion === 2 ? 'ikev2' : 'ikev1';
  const ikeEnc = uniq(site.ike.flatMap((t, i) => t.ciphers.map((c) => N.ikeEncryption(c, site.ikeVersion, t, `${peerPath}/ike_proposals/${i}`))));
  // PAN-OS "hash" is the IKE integrity algorithm, and the PRF with AES-GCM
  const ikeHash = uniq(site.ike.flatMap((t, i) => (t.ciphers.some(isAead) ? ikePrfs(t) : t.integrity).map((h) => N.hash(h, t, `${peerPath}/ike_proposals/${i}`))));
  site.ike.forEach((t, i) => checkDhGroups('paloalto', t, `${peerPath}/ike_proposals/${i}`));
  const ikeDh = uniq(site.ike.flatMap((t) => t.dhGroups)).map(N.dh);
  const list = (items: string[]) => (items.length === 1 ? items[0]! : `[ ${items.join(' ')} ]`);

  const lines = [
    ...header(site, '#', 'PAN-OS (set commands, configure mode)'),
    '# Assumed: WAN interface ethernet1/1 holding this gateway\'s address, tunnel.10, virtual router "default";',
    '# add security policies between your LAN zone and the tunnel zone.',
    `set network ike crypto-profiles ike-crypto-profiles ${name} encryption ${list(ikeEnc)}`,
    `set network ike crypto-profiles ike-crypto-profiles ${name} hash ${list(ikeHash)}`,
    `set network ike crypto-profiles ike-crypto-profiles ${name} dh-group ${list(ikeDh)}`,
    `set network ike crypto-profiles ike-crypto-profiles ${name} lifetime seconds ${site.ikeRekeyTimeS}`,
  ];
  site.tunnels.forEach((tunnel, ti) => {
    const path = `${peerPath}/tunnels/${ti}`;
    const profile = `${name}-${tunnel.name}`;
    const enc = uniq(tunnel.esp.flatMap((t, i) => t.ciphers.map((c) => N.espEncryption(c, t, `${path}/esp_proposals/${i}`))));
    const auth = uniq(tunnel.esp.flatMap((t, i) => (t.ciphers.some(isAead) ? ['none'] : t.integrity.map((h) => N.hash(h, t, `${path}/esp_proposals/${i}`)))));
    tunnel.esp.forEach((t, i) => checkDhGroups('paloalto', t, `${path}/esp_proposals/${i}`));
    if (tunnel.pfsGroups.length > 1) lines.push(`# PAN-OS takes one PFS group per IPsec crypto profile; Junction also offers group(s) ${tunnel.pfsGroups.slice(1).join(', ')}.`);
    lines.push(
      `set network ike crypto-profiles ipsec-crypto-profiles ${profile} esp encryption ${list(enc)}`,
      `set network ike crypto-profiles ipsec-crypto-profiles ${profile} esp authentication ${list(auth)}`,
      `set network ike crypto-profiles ipsec-crypto-profiles ${profile} dh-group ${tunnel.pfsGroups.length > 0 ? N.dh(tunnel.pfsGroups[0]!) : 'no-pfs'}`,
      `set network ike crypto-profiles ipsec-crypto-profiles ${profile} lifetime seconds ${tunnel.rekeyTimeS}`,
    );
  });
  const gw = `set network ike gateway ${name}`;
  lines.push(
    `${gw} protocol version ${v}`,
    `${gw} protocol ${v} ike-crypto-profile ${name}`,
    ...(site.ikeVersion === 2
      ? [`${gw} protocol ikev2 dpd enable ${site.dpdDelayS > 0 ? 'yes' : 'no'}`, ...(site.dpdDelayS > 0 ? [`${gw} protocol ikev2 dpd interval ${site.dpdDelayS}`] : [])]
      : [`${gw} protocol ikev1 exchange-mode main`, `${gw} protocol ikev1 dpd enable ${site.dpdDelayS > 0 ? 'yes' : 'no'}`, ...(site.dpdDelayS > 0 ? [`${gw} protocol ikev1 dpd interval ${site.dpdDelayS} retry ${Math.max(1, Math.round(site.dpdTimeoutS / Math.max(site.dpdDelayS, 1)))}`] : [])]),
    `${gw} local-address interface ethernet1/1`,
    `${gw} peer-address ip ${site.remoteAddress}`,
    `${gw} local-id type ${ID_TYPE[idKind(site.localId)]} id ${q(site.localId)}`,
    `${gw} peer-id type ${ID_TYPE[idKind(site.remoteId)]} id ${q(site.remoteId)}`,
    `${gw} protocol-common nat-traversal enable yes`,
    ...(site.auth.method === 'psk'
      ? [`${gw} authentication pre-shared-key key ${q(site.auth.psk)}`]
      : [
          `${gw} authentication certificate local-certificate name ${name}`,
          `${gw} authentication certificate certificate-profile ${name}`,
          `# Import this gateway's certificate as "${name}" (issued by Junction's CA "${site.auth.junctionTrustsCa}") and a certificate`,
          `# profile "${name}" with the CA that issued Junction's certificate "${site.auth.junctionCertificate}".`,
        ]),
    'set network interface tunnel units tunnel.10',
  );
  site.tunnels.forEach((tunnel) => {
    const t = `set network tunnel ipsec ${name}-${tunnel.name}`;
    lines.push(`${t} auto-key ike-gateway ${name}`, `${t} auto-key ipsec-crypto-profile ${name}-${tunnel.name}`, `${t} tunnel-interface tunnel.10`);
    for (const pair of selectorPairs(tunnel)) {
      lines.push(`${t} auto-key proxy-id ${tunnel.name}-${pair.index} local ${pair.local} remote ${pair.remote} protocol any`);
    }
  });
  uniq(site.tunnels.flatMap((t) => t.remoteSubnets)).forEach((subnet, i) => {
    lines.push(`set network virtual-router default routing-table ip static-route ${name}-${i + 1} destination ${subnet} interface tunnel.10`);
  });
  return lines.join('\n') + '\n';
}
