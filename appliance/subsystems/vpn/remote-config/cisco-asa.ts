// Cisco ASA CLI (9.x) for the on-prem side: crypto-map based site-to-site.
// IKEv2: "crypto ikev2 policy" per Junction IKE proposal, one "crypto ipsec
// ikev2 ipsec-proposal" per ESP proposal; IKEv1: "crypto ikev1 policy" and
// "crypto ipsec ikev1 transform-set" (SHA-1/MD5 only: the ASA documents
// SHA-2 for IKEv2 alone, so an IKEv1 peer with SHA-2 is refused with what
// the ASA can do). A tunnel-group named after Junction's address carries
// the PSK and DPD; one crypto map entry per tunnel, on the map already bound
// to the outside interface when the crypto_map parameter names it (an ASA
// binds one map per interface, and binding a new one replaces it); a
// twice-NAT identity rule per tunnel keeps the usual inside PAT off tunnel
// traffic.
import { RemoteConfigError } from './errors.js';
import { header, idKind, subnetAndMask, type RemoteSite } from './model.js';
import { derivedNumber, RemoteConfigParamError, shortName, type RenderContext } from './params.js';
import { asaNames as N, checkDhGroups, ikePrfs, isAead, type Transforms } from './transforms.js';

const uniq = <T>(values: T[]): T[] => [...new Set(values)];
/** ASA object, ACL, map and proposal names: at most 64 characters. */
const asaName = (name: string): string => shortName(name.toUpperCase(), 64);
/** crypto map / IKE policy lifetimes: 120 s at least. */
const ASA_MIN_LIFETIME_S = 120;
/** isakmp keepalive threshold: 10 to 3600 seconds. */
const KEEPALIVE_MIN_S = 10;

/** The body of one "crypto ikev2 policy": several values per parameter are allowed. */
function ikev2PolicyBody(t: Transforms, lifetime: number, path: string): string[] {
  checkDhGroups('cisco-asa', t, path);
  const aead = t.ciphers.some(isAead);
  return [
    ` encryption ${uniq(t.ciphers.map((c) => N.ikev2Encryption(c, t, path))).join(' ')}`,
    ` integrity ${aead ? 'null' : uniq(t.integrity.map((h) => N.ikev2Integrity(h, t, path))).join(' ')}`,
    ` group ${t.dhGroups.join(' ')}`,
    ` prf ${uniq(ikePrfs(t).map((h) => N.ikev2Integrity(h, t, path))).join(' ')}`,
    ` lifetime seconds ${lifetime}`,
  ];
}

/** IKEv1 policies hold one value per parameter: one policy body per cipher x hash x group. */
function ikev1PolicyBodies(t: Transforms, lifetime: number, auth: string, path: string): string[][] {
  checkDhGroups('cisco-asa', t, path);
  const out: string[][] = [];
  for (const c of t.ciphers) {
    const encryption = N.ikev1Encryption(c, t, path);
    for (const h of t.integrity) {
      const hash = N.ikev1Hash(h, t, path);
      for (const g of t.dhGroups) out.push([` authentication ${auth}`, ` encryption ${encryption}`, ` hash ${hash}`, ` group ${N.ikev1Group(g, t, path)}`, ` lifetime ${lifetime}`]);
    }
  }
  return out;
}

interface AsaPlan {
  map: string;
  mapIsNew: boolean;
  firstSeq: number;
  firstPriority: number;
  outside: string;
  inside: string;
}

function plan(site: RemoteSite, ctx: RenderContext): AsaPlan {
  const seed = `${site.remoteAddress} ${site.peerName}`;
  const { params } = ctx;
  return {
    map: params.crypto_map ?? asaName(`JUNCTION-${site.peerName}`),
    mapIsNew: params.crypto_map === undefined,
    firstSeq: params.crypto_map_seq ?? derivedNumber(`${seed} crypto-map`, 1000, 60000),
    firstPriority: params.ike_policy_priority ?? derivedNumber(`${seed} ike-policy`, 1000, 60000),
    outside: params.outside_interface ?? 'outside',
    inside: params.inside_interface ?? 'inside',
  };
}

function assumptions(site: RemoteSite, p: AsaPlan, policies: number, ctx: RenderContext): string[] {
  const lines = [
    '! Assumed on this ASA (each can be changed with the query parameter named):',
    `!   interface "${p.outside}" holds ${site.localAddress} (outside_interface); the on-prem subnets sit behind "${p.inside}" (inside_interface)`,
  ];
  if (p.mapIsNew) {
    lines.push(
      `!   no crypto map is bound to "${p.outside}" yet: this binds the new map ${p.map}. An interface holds ONE crypto map and`,
      `!   binding another replaces it: if "show running-config crypto map | include interface ${p.outside}" shows one, pass`,
      '!   crypto_map=<its name>; the entries are then added to that map and nothing is bound (crypto_map)',
    );
  } else {
    lines.push(`!   crypto map ${p.map} is already bound to "${p.outside}": the entries are added to it and nothing is bound (crypto_map)`);
  }
  const lastSeq = p.firstSeq + site.tunnels.length - 1;
  const lastPriority = p.firstPriority + policies - 1;
  lines.push(
    `!   crypto map sequence number${lastSeq > p.firstSeq ? `s ${p.firstSeq}-${lastSeq} are` : ` ${p.firstSeq} is`} free (crypto_map_seq${ctx.params.crypto_map_seq === undefined ? ', derived from the peer' : ''})`,
    `!   crypto ikev${site.ikeVersion} policy priorit${lastPriority > p.firstPriority ? `ies ${p.firstPriority}-${lastPriority} are` : `y ${p.firstPriority} is`} free (ike_policy_priority${ctx.params.ike_policy_priority === undefined ? ', derived from the peer' : ''})`,
    `!   a dynamic PAT for inside traffic: the identity NAT rules below go first (line 1) so tunnel traffic keeps its addresses`,
  );
  return lines;
}

/** Numbers counted up from a parameter must stay within 1-65535. */
function checkRoom(param: 'crypto_map_seq' | 'ike_policy_priority', first: number, count: number, what: string): void {
  if (first + count - 1 > 65535) throw new RemoteConfigParamError(param, `"${param}" ${first} leaves no room for ${count} ${what} below 65536`);
}

export function renderCiscoAsa(site: RemoteSite, ctx: RenderContext): string {
  const { peerPath } = ctx;
  const p = plan(site, ctx);
  checkRoom('crypto_map_seq', p.firstSeq, site.tunnels.length, 'crypto map entries');
  const P = site.peerName.toUpperCase();
  const psk = site.auth.method === 'psk' ? site.auth.psk : undefined;
  const trustpoint = asaName(`JUNCTION-${P}`);

  // IKE policies first: building them throws for what the ASA cannot express
  const ikePolicies: string[][] = [];
  if (site.ikeVersion === 2) {
    site.ike.forEach((t, i) => ikePolicies.push(ikev2PolicyBody(t, site.ikeRekeyTimeS, `${peerPath}/ike_proposals/${i}`)));
  } else {
    const auth = site.auth.method === 'psk' ? 'pre-share' : 'rsa-sig';
    site.ike.forEach((t, i) => ikePolicies.push(...ikev1PolicyBodies(t, site.ikeRekeyTimeS, auth, `${peerPath}/ike_proposals/${i}`)));
  }

  checkRoom('ike_policy_priority', p.firstPriority, ikePolicies.length, `crypto ikev${site.ikeVersion} policies`);
  const lines = [...header(site, '!', 'Cisco ASA'), ...assumptions(site, p, ikePolicies.length, ctx)];
  if (idKind(site.localId) !== 'address') {
    lines.push(`! Junction expects this gateway's IKE identity "${site.localId}": the ASA sends its hostname/DN only with`, '! "crypto isakmp identity hostname" (or auto with certificates), a global setting.');
  }
  if (site.auth.method === 'cert') {
    lines.push(`! Enroll trustpoint ${trustpoint} (this gateway's certificate from CA "${site.auth.junctionTrustsCa}") and a trustpoint`, `! holding the CA that issued Junction's certificate "${site.auth.junctionCertificate}".`);
  }
  lines.push('!');

  // traffic selectors and NAT exemption: two object-groups per tunnel
  site.tunnels.forEach((tunnel, ti) => {
    const T = `JUNCTION-${P}-${tunnel.name.toUpperCase()}`;
    const onPrem = asaName(`${T}-ONPREM`);
    const junction = asaName(`${T}-JUNCTION`);
    lines.push(`object-group network ${onPrem}`);
    for (const subnet of tunnel.localSubnets) lines.push(` network-object ${subnetAndMask(subnet, 'Cisco ASA', `${peerPath}/tunnels/${ti}/remote_subnets`).join(' ')}`);
    lines.push(`object-group network ${junction}`);
    for (const subnet of tunnel.remoteSubnets) lines.push(` network-object ${subnetAndMask(subnet, 'Cisco ASA', `${peerPath}/tunnels/${ti}/local_subnets`).join(' ')}`);
    lines.push(
      `access-list ${asaName(T)} extended permit ip object-group ${onPrem} object-group ${junction}`,
      `nat (${p.inside},${p.outside}) 1 source static ${onPrem} ${onPrem} destination static ${junction} ${junction} no-proxy-arp route-lookup`,
    );
  });
  lines.push('!');

  ikePolicies.forEach((body, i) => lines.push(`crypto ikev${site.ikeVersion} policy ${p.firstPriority + i}`, ...body));
  lines.push(`crypto ikev${site.ikeVersion} enable ${p.outside}`, '!');
  const proposalName = (tunnelName: string, i: number) => asaName(`JUNCTION-${P}-${tunnelName.toUpperCase()}-${i + 1}`);
  site.tunnels.forEach((tunnel, ti) => {
    tunnel.esp.forEach((t, i) => {
      const path = `${peerPath}/tunnels/${ti}/esp_proposals/${i}`;
      if (site.ikeVersion === 2) {
        const aead = t.ciphers.some(isAead);
        lines.push(
          `crypto ipsec ikev2 ipsec-proposal ${proposalName(tunnel.name, i)}`,
          ` protocol esp encryption ${uniq(t.ciphers.map((c) => N.espEncryption(c, t, path))).join(' ')}`,
          ` protocol esp integrity ${aead ? 'null' : uniq(t.integrity.map((h) => N.espIntegrity(h, t, path))).join(' ')}`,
        );
      } else {
        if (t.ciphers.length > 1 || t.integrity.length > 1) throw new RemoteConfigError(`Cisco ASA IKEv1 transform sets hold one cipher and one integrity algorithm; split proposal "${t.source}"`, path);
        lines.push(`crypto ipsec ikev1 transform-set ${proposalName(tunnel.name, i)} ${N.ikev1EspEncryption(t.ciphers[0]!, t, path)} ${N.ikev1EspIntegrity(t.integrity[0]!, t, path)}`);
      }
    });
  });
  lines.push('!');

  site.tunnels.forEach((tunnel, ti) => {
    const entry = `crypto map ${p.map} ${p.firstSeq + ti}`;
    const sets = tunnel.esp.map((_, i) => proposalName(tunnel.name, i)).join(' ');
    lines.push(`${entry} match address ${asaName(`JUNCTION-${P}-${tunnel.name.toUpperCase()}`)}`, `${entry} set peer ${site.remoteAddress}`);
    lines.push(site.ikeVersion === 2 ? `${entry} set ikev2 ipsec-proposal ${sets}` : `${entry} set ikev1 transform-set ${sets}`);
    if (tunnel.pfsGroups.length > 0) {
      tunnel.esp.forEach((t, i) => {
        const path = `${peerPath}/tunnels/${ti}/esp_proposals/${i}`;
        checkDhGroups('cisco-asa', t, path);
        if (site.ikeVersion === 1) t.dhGroups.forEach((g) => N.ikev1Group(g, t, path));
      });
      if (tunnel.pfsGroups.length > 1) lines.push(`! The ASA takes one PFS group per crypto map entry; Junction also offers group(s) ${tunnel.pfsGroups.slice(1).join(', ')}.`);
      lines.push(`${entry} set pfs group${tunnel.pfsGroups[0]}`);
    }
    // the ASA's shortest SA lifetime is 120 s; a longer lifetime here only means Junction rekeys first
    lines.push(`${entry} set security-association lifetime seconds ${Math.max(ASA_MIN_LIFETIME_S, tunnel.rekeyTimeS)}`);
  });
  if (p.mapIsNew) lines.push(`crypto map ${p.map} interface ${p.outside}`);
  lines.push('!');

  const tg = `tunnel-group ${site.remoteAddress}`;
  lines.push(`${tg} type ipsec-l2l`, `${tg} ipsec-attributes`);
  if (site.ikeVersion === 2) {
    if (psk !== undefined) lines.push(` ikev2 remote-authentication pre-shared-key ${psk}`, ` ikev2 local-authentication pre-shared-key ${psk}`);
    else lines.push(' ikev2 remote-authentication certificate', ` ikev2 local-authentication certificate ${trustpoint}`);
  } else if (psk !== undefined) {
    lines.push(` ikev1 pre-shared-key ${psk}`);
  } else {
    lines.push(` ikev1 trust-point ${trustpoint}`);
  }
  // DPD: keepalive every dpd_delay seconds (the ASA's floor is 10), 2 retries
  if (site.dpdDelayS === 0) lines.push(' isakmp keepalive disable');
  else lines.push(` isakmp keepalive threshold ${Math.max(KEEPALIVE_MIN_S, site.dpdDelayS)} retry 2`);
  if (site.dpdDelayS > 0 && site.dpdDelayS < KEEPALIVE_MIN_S) lines.push(`! Junction's dpd_delay is ${site.dpdDelayS} s; the ASA's shortest keepalive threshold is ${KEEPALIVE_MIN_S} s.`);
  return lines.join('\n') + '\n';
}
