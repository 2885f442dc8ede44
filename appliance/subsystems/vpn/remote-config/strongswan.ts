// strongSwan swanctl.conf (connections + secrets) for the on-prem side.
// Proposals stay in strongSwan syntax; `swanctl --load-all --file <file>`
// loads it into a stock charon (test/unit/vpn/remote-config-swanctl.test.ts).
import { header, type RemoteSite } from './model.js';
import { RemoteConfigParamError, REQID_LIMIT, type RenderContext } from './params.js';

/** A swanctl.conf value: bare when plain, else double-quoted. */
function value(v: string): string {
  return /^[A-Za-z0-9@._:/*%+-]+$/.test(v) ? v : `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** PSKs with quotes or backslashes go out base64 (0s prefix), so no escaping question arises. */
function secret(psk: string): string {
  return /["\\\n]/.test(psk) ? `0s${Buffer.from(psk, 'utf8').toString('base64')}` : `"${psk}"`;
}

/**
 * Where Junction initiates (the model says 'trap' for the side that waits),
 * this side responds only: a trap policy initiates only with kernel XFRM (a
 * gateway on kernel-libipsec drops the packet: "could not find an outbound
 * IPsec SA"), and Junction keeps the tunnel up by itself.
 */
const onPremStartAction = (action: RemoteSite['tunnels'][number]['startAction']) => (action === 'trap' ? 'none' : action);

export function renderStrongswan(site: RemoteSite, ctx: RenderContext): string {
  const conn = `junction-${site.peerName}`;
  // reqid parameter: the first tunnel's, counting up; else each tunnel's derived one (model.ts)
  const first = ctx.params.reqid;
  if (first !== undefined && first + site.tunnels.length - 1 > REQID_LIMIT) {
    throw new RemoteConfigParamError('reqid', `"reqid" ${first} leaves no room for ${site.tunnels.length} tunnels below ${REQID_LIMIT + 1}`);
  }
  const reqidOf = (ti: number) => (first === undefined ? site.tunnels[ti]!.reqid : first + ti);
  const auth = site.auth.method === 'psk' ? 'psk' : 'pubkey';
  const lines = [
    ...header(site, '#', 'strongSwan swanctl.conf'),
    `# Load with: swanctl --load-all (as /etc/swanctl/conf.d/${conn}.conf) or swanctl --load-all --file <this file>`,
    `# Assumed: this host holds ${site.localAddress} and no connection here is named ${conn}.`,
    ...(site.auth.method === 'cert'
      ? [
          `# Put this gateway's certificate in /etc/swanctl/x509/${conn}.pem and its key in /etc/swanctl/private/,`,
          `# and the CA that issued Junction's certificate "${site.auth.junctionCertificate}" in /etc/swanctl/x509ca/.`,
        ]
      : []),
    '# Every tunnel has a fixed reqid: strongSwan before 5.9.12 can give two tunnels one reqid when DPD',
    '# restarts them, and then sends one tunnel\'s traffic with the other\'s SA (strongSwan issue #1855).',
    `# Keep them distinct; if one clashes with a reqid of another connection, pass reqid=<first> (counting up)${first === undefined ? '' : ` (given: ${first})`}.`,
    '# start_action none: Junction initiates and keeps these tunnels up; this gateway responds.',
    'connections {',
    `  ${conn} {`,
    `    version = ${site.ikeVersion}`,
    `    local_addrs = ${value(site.localAddress)}`,
    `    remote_addrs = ${value(site.remoteAddress)}`,
    `    proposals = ${site.ikeProposals.join(', ')}`,
    `    rekey_time = ${site.ikeRekeyTimeS}s`,
    `    dpd_delay = ${site.dpdDelayS}s`,
    ...(site.ikeVersion === 1 ? [`    dpd_timeout = ${site.dpdTimeoutS}s`] : []),
    ...(site.forceEncap ? ['    encap = yes'] : []),
    '    local {',
    `      auth = ${auth}`,
    `      id = ${value(site.localId)}`,
    ...(site.auth.method === 'cert' ? [`      certs = ${conn}.pem`] : []),
    '    }',
    '    remote {',
    `      auth = ${auth}`,
    `      id = ${value(site.remoteId)}`,
    '    }',
    '    children {',
  ];
  site.tunnels.forEach((tunnel, ti) => {
    lines.push(
      `      ${tunnel.name} {`,
      `        local_ts = ${tunnel.localSubnets.join(', ')}`,
      `        remote_ts = ${tunnel.remoteSubnets.join(', ')}`,
      `        reqid = ${reqidOf(ti)}`,
      `        esp_proposals = ${tunnel.espProposals.join(', ')}`,
      `        rekey_time = ${tunnel.rekeyTimeS}s`,
      ...(tunnel.dpdAction !== 'none' ? [`        dpd_action = ${tunnel.dpdAction}`] : []),
      `        start_action = ${onPremStartAction(tunnel.startAction)}`,
      '      }',
    );
  });
  lines.push('    }', '  }', '}');
  if (site.auth.method === 'psk') {
    lines.push(
      'secrets {',
      `  ike-${conn} {`,
      `    id-local = ${value(site.localId)}`,
      `    id-remote = ${value(site.remoteId)}`,
      `    secret = ${secret(site.auth.psk)}`,
      '  }',
      '}',
    );
  }
  return lines.join('\n') + '\n';
}
