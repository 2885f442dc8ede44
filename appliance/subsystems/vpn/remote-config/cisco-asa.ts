// Cisco ASA CLI (9.x) for the on-prem side: crypto-map based site-to-site.
// IKEv2: "crypto ikev2 policy" per Junction IKE proposal, one "crypto ipsec
// ikev2 ipsec-proposal" per ESP proposal; IKEv1: "crypto ikev1 policy" and
// "crypto ipsec ikev1 transform-set". A tunnel-group named after Junction's
// address carries the PSK and DPD; one crypto map entry per tunnel.
import { RemoteConfigError } from './errors.js';
import { header, idKind, selectorPairs, subnetAndMask, type RemoteSite } from './model.js';
import { asaNames as N, checkDhGroups, ikePrfs, isAead, type Transforms } from './transforms.js';

const OUTSIDE = 'outside';
const uniq = <T>(values: T[]): T[] => [...new Set(values)];

function ikev2Policy(t: Transforms, priority: number, lifetime: number, path: string): string[] {
  checkDhGroups('cisco-asa', t, path);
  const aead = t.ciphers.some(isAead);
  return [
    `crypto ikev2 policy ${priority}`,
    ` encryption ${uniq(t.ciphers.map((c) => N.ikev2Encryption(c, t, path))).join(' ')}`,
    ` integrity ${aead ? 'null' : uniq(t.integrity.map((h) => N.ikev2Integrity(h, t, path))).join(' ')}`,
    ` group ${t.dhGroups.join(' ')}`,
    ` prf ${uniq(ikePrfs(t).map((h) => N.ikev2Integrity(h, t, path))).join(' ')}`,
    ` lifetime seconds ${lifetime}`,
  ];
}

function ikev1Policies(t: Transforms, firstPriority: number, lifetime: number, auth: string, path: string): string[][] {
  checkDhGroups('cisco-asa', t, path);
  const out: string[][] = [];
  for (const c of t.ciphers) {
    const encryption = N.ikev1Encryption(c, t, path);
    for (const h of t.integrity) {
      for (const g of t.dhGroups) {
        out.push([
          `crypto ikev1 policy ${firstPriority + out.length}`,
          ` authentication ${auth}`,
          ` encryption ${encryption}`,
          ` hash ${N.ikev1Hash(h, t, path)}`,
          ` group ${g}`,
          ` lifetime ${lifetime}`,
        ]);
      }
    }
  }
  return out;
}

export function renderCiscoAsa(site: RemoteSite, peerPath: string): string {
  const P = site.peerName.toUpperCase();
  const map = `JUNCTION-${P}`;
  const psk = site.auth.method === 'psk' ? site.auth.psk : undefined;
  const lines = [
    ...header(site, '!', 'Cisco ASA'),
    `! The outside interface is assumed to be named "${OUTSIDE}" and to hold ${site.localAddress}.`,
  ];
  if (idKind(site.localId) !== 'address') {
    lines.push(`! Junction expects this gateway's IKE identity "${site.localId}": the ASA sends its hostname/DN only with`, '! "crypto isakmp identity hostname" (or auto with certificates), a global setting.');
  }
  if (site.auth.method === 'cert') {
    lines.push(`! Enroll trustpoint ${map} (this gateway's certificate from CA "${site.auth.junctionTrustsCa}") and a trustpoint`, `! holding the CA that issued Junction's certificate "${site.auth.junctionCertificate}".`);
  }
  lines.push('!');

  // traffic selectors: one ACL per tunnel, one ACE per subnet pair
  site.tunnels.forEach((tunnel, ti) => {
    for (const pair of selectorPairs(tunnel)) {
      const [la, lm] = subnetAndMask(pair.local, 'Cisco ASA', `${peerPath}/tunnels/${ti}/remote_subnets`);
      const [ra, rm] = subnetAndMask(pair.remote, 'Cisco ASA', `${peerPath}/tunnels/${ti}/local_subnets`);
      lines.push(`access-list ${map}-${tunnel.name.toUpperCase()} extended permit ip ${la} ${lm} ${ra} ${rm}`);
    }
  });
  lines.push('!');

  if (site.ikeVersion === 2) {
    site.ike.forEach((t, i) => lines.push(...ikev2Policy(t, 10 * (i + 1), site.ikeRekeyTimeS, `${peerPath}/ike_proposals/${i}`)));
    lines.push(`crypto ikev2 enable ${OUTSIDE}`, '!');
    site.tunnels.forEach((tunnel, ti) => {
      tunnel.esp.forEach((t, i) => {
        const path = `${peerPath}/tunnels/${ti}/esp_proposals/${i}`;
        const aead = t.ciphers.some(isAead);
        lines.push(
          `crypto ipsec ikev2 ipsec-proposal ${map}-${tunnel.name.toUpperCase()}-${i + 1}`,
          ` protocol esp encryption ${uniq(t.ciphers.map((c) => N.espEncryption(c, t, path))).join(' ')}`,
          ` protocol esp integrity ${aead ? 'null' : uniq(t.integrity.map((h) => N.espIntegrity(h, t, path))).join(' ')}`,
        );
      });
    });
  } else {
    const auth = site.auth.method === 'psk' ? 'pre-share' : 'rsa-sig';
    let priority = 10;
    site.ike.forEach((t, i) => {
      for (const policy of ikev1Policies(t, priority, site.ikeRekeyTimeS, auth, `${peerPath}/ike_proposals/${i}`)) {
        lines.push(...policy);
        priority++;
      }
    });
    lines.push(`crypto ikev1 enable ${OUTSIDE}`, '!');
    site.tunnels.forEach((tunnel, ti) => {
      tunnel.esp.forEach((t, i) => {
        const path = `${peerPath}/tunnels/${ti}/esp_proposals/${i}`;
        if (t.ciphers.length > 1 || t.integrity.length > 1) throw new RemoteConfigError(`Cisco ASA IKEv1 transform sets hold one cipher and one integrity algorithm; split proposal "${t.source}"`, path);
        lines.push(`crypto ipsec ikev1 transform-set ${map}-${tunnel.name.toUpperCase()}-${i + 1} ${N.ikev1EspEncryption(t.ciphers[0]!, t, path)} ${N.ikev1EspIntegrity(t.integrity[0]!, t, path)}`);
      });
    });
  }
  lines.push('!');

  site.tunnels.forEach((tunnel, ti) => {
    const seq = 10 * (ti + 1);
    const entry = `crypto map ${map} ${seq}`;
    const sets = tunnel.esp.map((_, i) => `${map}-${tunnel.name.toUpperCase()}-${i + 1}`).join(' ');
    lines.push(`${entry} match address ${map}-${tunnel.name.toUpperCase()}`, `${entry} set peer ${site.remoteAddress}`);
    lines.push(site.ikeVersion === 2 ? `${entry} set ikev2 ipsec-proposal ${sets}` : `${entry} set ikev1 transform-set ${sets}`);
    if (tunnel.pfsGroups.length > 0) {
      tunnel.esp.forEach((t, i) => checkDhGroups('cisco-asa', t, `${peerPath}/tunnels/${ti}/esp_proposals/${i}`));
      if (tunnel.pfsGroups.length > 1) lines.push(`! The ASA takes one PFS group per crypto map entry; Junction also offers group(s) ${tunnel.pfsGroups.slice(1).join(', ')}.`);
      lines.push(`${entry} set pfs group${tunnel.pfsGroups[0]}`);
    }
    lines.push(`${entry} set security-association lifetime seconds ${tunnel.rekeyTimeS}`);
  });
  lines.push(`crypto map ${map} interface ${OUTSIDE}`, '!');

  const tg = `tunnel-group ${site.remoteAddress}`;
  lines.push(`${tg} type ipsec-l2l`, `${tg} ipsec-attributes`);
  if (site.ikeVersion === 2) {
    if (psk !== undefined) lines.push(` ikev2 remote-authentication pre-shared-key ${psk}`, ` ikev2 local-authentication pre-shared-key ${psk}`);
    else lines.push(' ikev2 remote-authentication certificate', ` ikev2 local-authentication certificate ${map}`);
  } else if (psk !== undefined) {
    lines.push(` ikev1 pre-shared-key ${psk}`);
  } else {
    lines.push(` ikev1 trust-point ${map}`);
  }
  // DPD: keepalive every dpd_delay seconds, 2 retries
  lines.push(site.dpdDelayS > 0 ? ` isakmp keepalive threshold ${site.dpdDelayS} retry 2` : ' isakmp keepalive disable');
  return lines.join('\n') + '\n';
}
