// PAN-OS set commands for the on-prem side: an IKE crypto profile and an
// IPsec crypto profile holding Junction's algorithms, an IKE gateway, a
// route-based IPsec tunnel with one proxy-id per subnet pair (PAN-OS
// negotiates one CHILD_SA per proxy-id), and static routes into the tunnel.
// Each tunnel gets its own tunnel.N interface (numbered from the tunnel_unit
// parameter), which goes into a security zone and the virtual router that
// holds the static routes: PAN-OS refuses to commit a route through a tunnel
// interface outside the virtual router, and passes no traffic through one
// without a zone. Legacy routing engine (virtual-router), not the advanced
// one (logical-router).
import { header, idKind, selectorPairs, type RemoteSite } from './model.js';
import { derivedNumber, RemoteConfigParamError, shortName, type RenderContext } from './params.js';
import { checkDhGroups, ikePrfs, isAead, paloaltoNames as N } from './transforms.js';

const uniq = <T>(values: T[]): T[] => [...new Set(values)];
const q = (s: string): string => (/^[A-Za-z0-9@._:/-]+$/.test(s) ? s : `"${s.replace(/"/g, '\\"')}"`);
const ID_TYPE = { address: 'ipaddr', fqdn: 'fqdn', email: 'ufqdn', dn: 'dn' } as const;
/** PAN-OS object names (profiles, gateways, tunnels, proxy-ids, routes): at most 31 characters. */
export const PANOS_NAME_MAX = 31;
const objectName = (name: string): string => shortName(name, PANOS_NAME_MAX);

/** Crypto profile lifetimes: seconds 180-65535, else whole minutes (3-65535); below 180 s PAN-OS has nothing, so 180. */
function panosLifetime(seconds: number): string {
  if (seconds < 180) return 'seconds 180';
  if (seconds <= 65535) return `seconds ${seconds}`;
  return `minutes ${Math.round(seconds / 60)}`;
}

export function renderPaloalto(site: RemoteSite, ctx: RenderContext): string {
  const { peerPath, params } = ctx;
  const name = objectName(`junction-${site.peerName}`);
  const wan = params.wan_interface ?? 'ethernet1/1';
  const zone = params.zone ?? 'vpn';
  const vr = params.virtual_router ?? 'default';
  const firstUnit = params.tunnel_unit ?? derivedNumber(`${site.remoteAddress} ${site.peerName} tunnel-unit`, 1000, 9000);
  if (firstUnit + site.tunnels.length - 1 > 9999) {
    throw new RemoteConfigParamError('tunnel_unit', `"tunnel_unit" ${firstUnit} leaves no room for ${site.tunnels.length} tunnel interfaces below tunnel.9999`);
  }
  const unit = (ti: number) => `tunnel.${firstUnit + ti}`;
  const profileName = (tunnelName: string) => objectName(`${name}-${tunnelName}`);
  const v = site.ikeVersion === 2 ? 'ikev2' : 'ikev1';
  const ikeEnc = uniq(site.ike.flatMap((t, i) => t.ciphers.map((c) => N.ikeEncryption(c, site.ikeVersion, t, `${peerPath}/ike_proposals/${i}`))));
  // PAN-OS "hash" is the IKE integrity algorithm, and the PRF with AES-GCM
  const ikeHash = uniq(site.ike.flatMap((t, i) => (t.ciphers.some(isAead) ? ikePrfs(t) : t.integrity).map((h) => N.hash(h, t, `${peerPath}/ike_proposals/${i}`))));
  site.ike.forEach((t, i) => checkDhGroups('paloalto', t, `${peerPath}/ike_proposals/${i}`));
  const ikeDh = uniq(site.ike.flatMap((t) => t.dhGroups)).map(N.dh);
  const list = (items: string[]) => (items.length === 1 ? items[0]! : `[ ${items.join(' ')} ]`);

  const lines = [
    ...header(site, '#', 'PAN-OS (set commands, configure mode)'),
    '# Assumed on this firewall (change with the query parameter named):',
    `#   interface ${wan} holds ${site.localAddress} (wan_interface)`,
    `#   ${site.tunnels.length > 1 ? `${unit(0)} to ${unit(site.tunnels.length - 1)} are` : `${unit(0)} is`} free (tunnel_unit${params.tunnel_unit === undefined ? ', derived from the peer' : ''})`,
    `#   security zone "${zone}" (zone; created by these commands if missing) and virtual router "${vr}" (virtual_router)`,
    `# Add security policies between your LAN zone and "${zone}"; none are generated.`,
    `set network ike crypto-profiles ike-crypto-profiles ${name} encryption ${list(ikeEnc)}`,
    `set network ike crypto-profiles ike-crypto-profiles ${name} hash ${list(ikeHash)}`,
    `set network ike crypto-profiles ike-crypto-profiles ${name} dh-group ${list(ikeDh)}`,
    `set network ike crypto-profiles ike-crypto-profiles ${name} lifetime ${panosLifetime(site.ikeRekeyTimeS)}`,
  ];
  site.tunnels.forEach((tunnel, ti) => {
    const path = `${peerPath}/tunnels/${ti}`;
    const profile = profileName(tunnel.name);
    const enc = uniq(tunnel.esp.flatMap((t, i) => t.ciphers.map((c) => N.espEncryption(c, t, `${path}/esp_proposals/${i}`))));
    const auth = uniq(tunnel.esp.flatMap((t, i) => (t.ciphers.some(isAead) ? ['none'] : t.integrity.map((h) => N.hash(h, t, `${path}/esp_proposals/${i}`)))));
    tunnel.esp.forEach((t, i) => checkDhGroups('paloalto', t, `${path}/esp_proposals/${i}`));
    if (tunnel.pfsGroups.length > 1) lines.push(`# PAN-OS takes one PFS group per IPsec crypto profile; Junction also offers group(s) ${tunnel.pfsGroups.slice(1).join(', ')}.`);
    lines.push(
      `set network ike crypto-profiles ipsec-crypto-profiles ${profile} esp encryption ${list(enc)}`,
      `set network ike crypto-profiles ipsec-crypto-profiles ${profile} esp authentication ${list(auth)}`,
      `set network ike crypto-profiles ipsec-crypto-profiles ${profile} dh-group ${tunnel.pfsGroups.length > 0 ? N.dh(tunnel.pfsGroups[0]!) : 'no-pfs'}`,
      `set network ike crypto-profiles ipsec-crypto-profiles ${profile} lifetime ${panosLifetime(tunnel.rekeyTimeS)}`,
    );
  });
  const gw = `set network ike gateway ${name}`;
  // PAN-OS takes a DPD interval and retry count of 2 to 100
  const dpdInterval = Math.min(100, Math.max(2, site.dpdDelayS));
  const dpdRetry = Math.min(100, Math.max(2, Math.round(site.dpdTimeoutS / Math.max(site.dpdDelayS, 1))));
  if (site.dpdDelayS > 0 && dpdInterval !== site.dpdDelayS) lines.push(`# Junction's dpd_delay is ${site.dpdDelayS} s; PAN-OS takes a DPD interval of 2 to 100 s.`);
  lines.push(
    `${gw} protocol version ${v}`,
    `${gw} protocol ${v} ike-crypto-profile ${name}`,
    ...(site.ikeVersion === 2
      ? [`${gw} protocol ikev2 dpd enable ${site.dpdDelayS > 0 ? 'yes' : 'no'}`, ...(site.dpdDelayS > 0 ? [`${gw} protocol ikev2 dpd interval ${dpdInterval}`] : [])]
      : [`${gw} protocol ikev1 exchange-mode main`, `${gw} protocol ikev1 dpd enable ${site.dpdDelayS > 0 ? 'yes' : 'no'}`, ...(site.dpdDelayS > 0 ? [`${gw} protocol ikev1 dpd interval ${dpdInterval} retry ${dpdRetry}`] : [])]),
    `${gw} local-address interface ${wan}`,
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
  );
  site.tunnels.forEach((tunnel, ti) => {
    const t = `set network tunnel ipsec ${profileName(tunnel.name)}`;
    lines.push(
      `set network interface tunnel units ${unit(ti)}`,
      `set zone ${zone} network layer3 ${unit(ti)}`,
      `set network virtual-router ${vr} interface ${unit(ti)}`,
      `${t} auto-key ike-gateway ${name}`,
      `${t} auto-key ipsec-crypto-profile ${profileName(tunnel.name)}`,
      `${t} tunnel-interface ${unit(ti)}`,
    );
    for (const pair of selectorPairs(tunnel)) {
      lines.push(`${t} auto-key proxy-id ${objectName(`${tunnel.name}-${pair.index}`)} local ${pair.local} remote ${pair.remote} protocol any`);
    }
  });
  // one route per Junction subnet, into the tunnel interface of the first tunnel that carries it
  const routed = new Set<string>();
  site.tunnels.forEach((tunnel, ti) => {
    for (const subnet of tunnel.remoteSubnets) {
      if (routed.has(subnet)) continue;
      routed.add(subnet);
      lines.push(`set network virtual-router ${vr} routing-table ip static-route ${objectName(`${name}-${routed.size}`)} destination ${subnet} interface ${unit(ti)}`);
    }
  });
  return lines.join('\n') + '\n';
}
