// pfSense config.xml fragment for the on-prem side: the <phase1> and
// <phase2> entries of <ipsec> (pfSense 2.5+: a phase 1 <encryption> list of
// items, one phase 2 per subnet pair). Restore it under Diagnostics > Backup
// & Restore (area "IPsec"), or enter the same values in VPN > IPsec.
// pfSense numbers phase 1 entries (ikeid) and phase 2 entries (reqid)
// itself; a pasted fragment must not reuse numbers already in config.xml,
// so both come from parameters or are derived from the peer.
import { header, idKind, selectorPairs, type RemoteSite } from './model.js';
import { derivedNumber, RemoteConfigParamError, REQID_LIMIT, type RenderContext } from './params.js';
import { checkDhGroups, ikePrfs, isAead, pfsenseNames as N } from './transforms.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const ID_TYPE = { address: 'address', fqdn: 'fqdn', email: 'user_fqdn', dn: 'asn1dn' } as const;

function idinfo(tag: string, cidr: string): string[] {
  const [address, bits] = cidr.split('/') as [string, string];
  return [`    <${tag}>`, '      <type>network</type>', `      <address>${address}</address>`, `      <netbits>${bits}</netbits>`, `    </${tag}>`];
}

export function renderPfsense(site: RemoteSite, ctx: RenderContext): string {
  const { peerPath, params } = ctx;
  const seed = `${site.remoteAddress} ${site.peerName}`;
  const ikeid = params.ikeid ?? derivedNumber(`${seed} ikeid`, 1000, 60000);
  let reqid = params.reqid ?? derivedNumber(`${seed} reqid`, 1000, 60000);
  const phase2Count = site.tunnels.reduce((n, t) => n + selectorPairs(t).length, 0);
  const iface = params.interface ?? 'wan';
  if (reqid + phase2Count - 1 > REQID_LIMIT) throw new RemoteConfigParamError('reqid', `"reqid" ${reqid} leaves no room for ${phase2Count} phase 2 entries below ${REQID_LIMIT + 1}`);
  const comment = [
    ...header(site, '', 'pfSense config.xml').map((l) => l.trim()),
    'Assumed in config.xml (change with the query parameter named):',
    `  interface ${iface} holds ${site.localAddress} (interface)`,
    `  ikeid ${ikeid} is free (ikeid${params.ikeid === undefined ? ', derived from the peer' : ''})`,
    `  reqid${phase2Count > 1 ? `s ${reqid}-${reqid + phase2Count - 1} are` : ` ${reqid} is`} free (reqid${params.reqid === undefined ? ', derived from the peer' : ''})`,
  ];
  const lines = ['<!--', ...comment.map((l) => `  ${l.replace(/--/g, '- -')}`), '-->', '<ipsec>', '  <phase1>', `    <ikeid>${ikeid}</ikeid>`,
    `    <iketype>ikev${site.ikeVersion}</iketype>`,
    `    <interface>${esc(iface)}</interface>`,
    `    <remote-gateway>${esc(site.remoteAddress)}</remote-gateway>`,
    `    <protocol>${site.remoteAddress.includes(':') ? 'inet6' : 'inet'}</protocol>`,
    `    <myid_type>${ID_TYPE[idKind(site.localId)]}</myid_type>`,
    `    <myid_data>${esc(site.localId)}</myid_data>`,
    `    <peerid_type>${ID_TYPE[idKind(site.remoteId)]}</peerid_type>`,
    `    <peerid_data>${esc(site.remoteId)}</peerid_data>`,
    '    <encryption>',
  ];
  site.ike.forEach((t, i) => {
    const path = `${peerPath}/ike_proposals/${i}`;
    checkDhGroups('pfsense', t, path);
    const aead = t.ciphers.some(isAead);
    for (const c of t.ciphers) {
      const cipher = N.cipher(c, t, path);
      for (const h of aead ? ikePrfs(t) : t.integrity) {
        for (const prf of aead ? [h] : t.prf.length ? t.prf : [h]) {
          for (const g of t.dhGroups) {
            lines.push(
              '      <item>',
              `        <encryption-algorithm><name>${cipher.name}</name>${cipher.keylen !== undefined ? `<keylen>${cipher.keylen}</keylen>` : ''}</encryption-algorithm>`,
              `        <hash-algorithm>${N.p1Hash(h)}</hash-algorithm>`,
              `        <prf-algorithm>${N.p1Hash(prf)}</prf-algorithm>`,
              `        <dhgroup>${g}</dhgroup>`,
              '      </item>',
            );
          }
        }
      }
    }
  });
  lines.push(
    '    </encryption>',
    `    <lifetime>${site.ikeRekeyTimeS}</lifetime>`,
    ...(site.auth.method === 'psk'
      ? ['    <authentication_method>pre_shared_key</authentication_method>', `    <pre-shared-key>${esc(site.auth.psk)}</pre-shared-key>`]
      : ['    <authentication_method>cert</authentication_method>', `    <certref><!-- this gateway's certificate, issued by Junction's CA "${esc(site.auth.junctionTrustsCa)}" --></certref>`, `    <caref><!-- the CA that issued Junction's certificate "${esc(site.auth.junctionCertificate)}" --></caref>`]),
    `    <descr><![CDATA[Junction peer ${site.peerName}]]></descr>`,
    `    <nat_traversal>${site.forceEncap ? 'force' : 'on'}</nat_traversal>`,
    '    <mobike>off</mobike>',
    ...(site.dpdDelayS > 0 ? [`    <dpd_delay>${site.dpdDelayS}</dpd_delay>`, `    <dpd_maxfail>${Math.max(1, Math.round(site.dpdTimeoutS / site.dpdDelayS))}</dpd_maxfail>`] : []),
    '  </phase1>',
  );
  site.tunnels.forEach((tunnel, ti) => {
    const path = `${peerPath}/tunnels/${ti}`;
    tunnel.esp.forEach((t, i) => checkDhGroups('pfsense', t, `${path}/esp_proposals/${i}`));
    const ciphers = new Map<string, string>();
    const hashes = new Set<string>();
    tunnel.esp.forEach((t, i) => {
      for (const c of t.ciphers) {
        const x = N.cipher(c, t, `${path}/esp_proposals/${i}`);
        ciphers.set(`${x.name}/${x.keylen ?? ''}`, `      <encryption-algorithm-option><name>${x.name}</name>${x.keylen !== undefined ? `<keylen>${x.keylen}</keylen>` : ''}</encryption-algorithm-option>`);
      }
      if (!t.ciphers.some(isAead)) for (const h of t.integrity) hashes.add(`      <hash-algorithm-option>${N.p2Hash(h)}</hash-algorithm-option>`);
    });
    if (tunnel.pfsGroups.length > 1) lines.push(`  <!-- pfSense takes one PFS group per phase 2; Junction also offers group(s) ${tunnel.pfsGroups.slice(1).join(', ')} -->`);
    for (const pair of selectorPairs(tunnel)) {
      lines.push(
        '  <phase2>',
        `    <ikeid>${ikeid}</ikeid>`,
        `    <uniqid>junction${ikeid}x${reqid}</uniqid>`,
        '    <mode>tunnel</mode>',
        `    <reqid>${reqid++}</reqid>`,
        ...idinfo('localid', pair.local),
        ...idinfo('remoteid', pair.remote),
        '    <protocol>esp</protocol>',
        ...[...ciphers.values()].map((l) => l.slice(2)),
        ...[...hashes].map((l) => l.slice(2)),
        `    <pfsgroup>${tunnel.pfsGroups[0] ?? 0}</pfsgroup>`,
        `    <lifetime>${tunnel.rekeyTimeS}</lifetime>`,
        `    <descr><![CDATA[Junction ${site.peerName}/${tunnel.name} ${pair.index}]]></descr>`,
        '  </phase2>',
      );
    }
  });
  lines.push('</ipsec>');
  return lines.join('\n') + '\n';
}
