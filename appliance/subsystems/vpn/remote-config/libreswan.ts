// Libreswan ipsec.conf + ipsec.secrets for the on-prem side: one conn per
// Junction tunnel ("left" is the on-prem gateway), proposals in Libreswan's
// "cipher-integ;dh" form (ike=aes_gcm256-sha2_384;dh20, esp=aes_gcm256-null;dh19),
// several subnets with leftsubnets={...}. Two dialects, chosen by the
// version parameter: 4.x (ikev2=yes|no, dpdaction=) and 5.x, where
// keyexchange=ikev1|ikev2 replaces ikev2= and dpdaction= is an obsolete
// keyword that is ignored (the action follows auto=; IKEv2 ignores
// dpdtimeout= too and retransmits until retransmit-timeout).
import { header, idKind, type RemoteSite } from './model.js';
import type { RenderContext } from './params.js';
import { checkDhGroups, ikePrfs, isAead, libreswanNames as N, type Transforms } from './transforms.js';

/** Libreswan IDs: @fqdn, bare address or user@fqdn, quoted DN. */
export function libreswanId(id: string): string {
  switch (idKind(id)) {
    case 'address':
    case 'email':
      return id;
    case 'fqdn':
      return `@${id}`;
    case 'dn':
      return `"${id}"`;
  }
}

function ikeAlg(t: Transforms, path: string): string {
  checkDhGroups('libreswan', t, path);
  const ciphers = [...new Set(t.ciphers.map((c) => N.cipher(c, t, path)))].join('+');
  const prfs = [...new Set((t.ciphers.some(isAead) ? ikePrfs(t) : t.integrity).map(N.hash))].join('+');
  return `${ciphers}-${prfs};${t.dhGroups.map(N.dh).join('+')}`;
}

function espAlg(t: Transforms, path: string): string {
  checkDhGroups('libreswan', t, path);
  const ciphers = [...new Set(t.ciphers.map((c) => N.cipher(c, t, path)))].join('+');
  const integ = t.ciphers.some(isAead) ? 'null' : [...new Set(t.integrity.map(N.hash))].join('+');
  return `${ciphers}-${integ}${t.dhGroups.length ? `;${t.dhGroups.map(N.dh).join('+')}` : ''}`;
}

const AUTO = { start: 'start', trap: 'ondemand', none: 'add' } as const;
const DPD_ACTION = { restart: 'restart', clear: 'clear', trap: 'hold', none: 'clear' } as const;

function dpdLines(site: RemoteSite, action: RemoteSite['tunnels'][number]['dpdAction'], v5: boolean): string[] {
  if (site.dpdDelayS === 0) return [];
  if (!v5) return [`    dpddelay=${site.dpdDelayS}`, `    dpdtimeout=${site.dpdTimeoutS}`, `    dpdaction=${DPD_ACTION[action]}`];
  // 5.x: the DPD action follows auto= (restart when the connection is up on its own); dpdtimeout= is IKEv1 only
  return site.ikeVersion === 1 ? [`    dpddelay=${site.dpdDelayS}`, `    dpdtimeout=${site.dpdTimeoutS}`] : [`    dpddelay=${site.dpdDelayS}`];
}

export function renderLibreswan(site: RemoteSite, ctx: RenderContext): string {
  const { peerPath } = ctx;
  const v5 = ctx.params.version === 5;
  const lines = [
    ...header(site, '#', `Libreswan ${v5 ? '5.x' : '4.x'} ipsec.conf`),
    `# Written for Libreswan ${v5 ? '5.x (keyexchange=, no dpdaction=)' : '4.x (ikev2=, dpdaction=)'}; pass version=${v5 ? 4 : 5} for Libreswan ${v5 ? '4.x' : '5.x'}.`,
    `# Assumed: this host holds ${site.localAddress} (left=) and no conn here is named junction-${site.peerName}-*.`,
    ...(v5 && site.ikeVersion === 1 ? ['# Libreswan 5 drops IKEv1 packets unless /etc/ipsec.conf has "ikev1-policy=accept" under "config setup".'] : []),
    `# /etc/ipsec.d/junction-${site.peerName}.conf`,
  ];
  const ike = site.ike.map((t, i) => ikeAlg(t, `${peerPath}/ike_proposals/${i}`)).join(',');
  site.tunnels.forEach((tunnel, ti) => {
    const esp = tunnel.esp.map((t, i) => espAlg(t, `${peerPath}/tunnels/${ti}/esp_proposals/${i}`)).join(',');
    const subnets = (side: 'left' | 'right', list: string[]) => (list.length === 1 ? `${side}subnet=${list[0]}` : `${side}subnets={${list.join(' ')}}`);
    lines.push(
      '',
      `conn junction-${site.peerName}-${tunnel.name}`,
      v5 ? `    keyexchange=ikev${site.ikeVersion}` : `    ikev2=${site.ikeVersion === 2 ? 'yes' : 'no'}`,
      `    authby=${site.auth.method === 'psk' ? 'secret' : 'rsasig'}`,
      `    left=${site.localAddress}`,
      `    leftid=${libreswanId(site.localId)}`,
      ...(site.auth.method === 'cert' ? [`    leftcert=junction-${site.peerName}`] : []),
      `    ${subnets('left', tunnel.localSubnets)}`,
      `    right=${site.remoteAddress}`,
      `    rightid=${libreswanId(site.remoteId)}`,
      `    ${subnets('right', tunnel.remoteSubnets)}`,
      `    ike=${ike}`,
      `    esp=${esp}`,
      `    pfs=${tunnel.pfsGroups.length > 0 ? 'yes' : 'no'}`,
      `    ikelifetime=${site.ikeRekeyTimeS}s`,
      `    salifetime=${tunnel.rekeyTimeS}s`,
      ...dpdLines(site, tunnel.dpdAction, v5),
      ...(site.forceEncap ? ['    encapsulation=yes'] : []),
      `    auto=${AUTO[tunnel.startAction]}`,
    );
  });
  if (site.auth.method === 'psk') {
    lines.push('', `# /etc/ipsec.d/junction-${site.peerName}.secrets`, `${libreswanId(site.localId)} ${libreswanId(site.remoteId)} : PSK "${site.auth.psk.replace(/"/g, '\\"')}"`);
  } else {
    lines.push('', `# Import this gateway's certificate into the NSS database as "junction-${site.peerName}" (ipsec import),`, `# and the CA that issued Junction's certificate "${site.auth.junctionCertificate}" (certutil -A -t "CT,,").`);
  }
  return lines.join('\n') + '\n';
}
