// The VPN's own pieces of the kernel's routing: on the kernel data plane the
// XFRM interface (xfrm0) and the routes to remote subnets through it; on
// both data planes the fail-closed unreachable routes under them. All of
// them carry proto 78, so the set Junction owns is exactly what `ip route
// show proto 78` lists. With libipsec, charon routes into its TUN device
// itself (table 220, looked up before main). The xfrm0 part is only reached
// where the kernel has XFRM ESP (verify refuses a forced kernel data plane
// otherwise); `npm run test:xfrm` runs it in a guest with such a kernel.
import { runChecked, type CommandRunner } from '../../platform/command-runner.js';
import { FAIL_CLOSED_METRIC, VPN_ROUTE_PROTO, XFRM_INTERFACE, type VpnArtifact } from './render.js';

interface OwnedRoute {
  /** `dev <dst>` (through xfrm0) or `unreachable <dst>` (fail closed) */
  key: string;
  family: 4 | 6;
  dst: string;
  type: 'dev' | 'unreachable';
  metric?: number;
}

async function ownedRoutes(runner: CommandRunner): Promise<OwnedRoute[]> {
  const out: OwnedRoute[] = [];
  for (const family of [4, 6] as const) {
    const listed = await runner.run('ip', ['-j', `-${family}`, 'route', 'show', 'table', 'main', 'proto', VPN_ROUTE_PROTO]);
    if (listed.code !== 0 || !listed.stdout.trim()) continue;
    for (const r of JSON.parse(listed.stdout) as Array<{ dst: string; type?: string; metric?: number }>) {
      const type = r.type === 'unreachable' ? 'unreachable' : 'dev';
      out.push({ key: `${type} ${r.dst}`, family, dst: r.dst, type, ...(r.metric !== undefined ? { metric: r.metric } : {}) });
    }
  }
  return out;
}

interface XfrmLink {
  up: boolean;
  kind?: string;
  /** iproute2 prints it as hex text ("0x2a"), only when nonzero */
  ifId?: number;
  /** the underlying interface, by name */
  link?: string;
}

async function readXfrmLink(runner: CommandRunner, name: string): Promise<XfrmLink | undefined> {
  const shown = await runner.run('ip', ['-j', '-d', 'link', 'show', 'dev', name]);
  if (shown.code !== 0 || !shown.stdout.trim()) return undefined;
  const [l] = JSON.parse(shown.stdout) as Array<{ flags?: string[]; linkinfo?: { info_kind?: string; info_data?: { if_id?: string | number; link?: string } } }>;
  if (!l) return undefined;
  const data = l.linkinfo?.info_data;
  return { up: !!l.flags?.includes('UP'), kind: l.linkinfo?.info_kind, ...(data?.if_id !== undefined ? { ifId: Number(data.if_id) } : {}), ...(data?.link ? { link: data.link } : {}) };
}

/** What differs between xfrm0 as it is and as configured; empty when it matches. */
function xfrmLinkDifferences(have: XfrmLink, want: NonNullable<VpnArtifact['xfrmInterface']>): string[] {
  const out: string[] = [];
  if (have.kind !== 'xfrm') out.push(`${want.name} is not an XFRM interface (${have.kind ?? 'no kind'})`);
  if (have.ifId !== undefined && have.ifId !== want.ifId) out.push(`${want.name} has if_id ${have.ifId}, configured ${want.ifId}`);
  if (have.link !== undefined && have.link !== want.underlying) out.push(`${want.name} is on ${have.link}, configured ${want.underlying}`);
  return out;
}

function wantedRoutes(desired: VpnArtifact): Array<{ key: string; args: string[]; text: string }> {
  const family = (dst: string) => (dst.includes(':') ? '-6' : '-4');
  return [
    ...desired.routes.map((r) => ({
      key: `dev ${r.destination}`,
      args: [family(r.destination), 'route', 'replace', r.destination, 'dev', r.dev, 'proto', VPN_ROUTE_PROTO],
      text: `route ${r.destination} dev ${r.dev}`,
    })),
    ...desired.failClosedRoutes.map((r) => ({
      key: `unreachable ${r.destination}`,
      args: [family(r.destination), 'route', 'replace', 'unreachable', r.destination, 'metric', String(FAIL_CLOSED_METRIC), 'proto', VPN_ROUTE_PROTO],
      text: `route unreachable ${r.destination} metric ${FAIL_CLOSED_METRIC} (fail closed)`,
    })),
  ];
}

export async function kernelPathDrift(runner: CommandRunner, desired: VpnArtifact): Promise<string[]> {
  const drift: string[] = [];
  if (desired.xfrmInterface) {
    const have = await readXfrmLink(runner, desired.xfrmInterface.name);
    if (!have) drift.push(`${desired.xfrmInterface.name} is missing`);
    else {
      drift.push(...xfrmLinkDifferences(have, desired.xfrmInterface));
      if (!have.up) drift.push(`${desired.xfrmInterface.name} is down`);
    }
  }
  const have = await ownedRoutes(runner);
  const haveKeys = new Set(have.map((r) => r.key));
  for (const w of wantedRoutes(desired)) if (!haveKeys.has(w.key)) drift.push(`${w.text} is missing`);
  const wantKeys = new Set(wantedRoutes(desired).map((w) => w.key));
  for (const r of have) if (!wantKeys.has(r.key)) drift.push(`route ${r.type === 'unreachable' ? 'unreachable ' : ''}${r.dst} proto ${VPN_ROUTE_PROTO} is not configured`);
  return drift;
}

/** Creates xfrm0 and sets the VPN's routes (or removes what the artifact no longer has); returns the commands run. */
export async function applyKernelPath(runner: CommandRunner, desired: VpnArtifact): Promise<string[]> {
  const actions: string[] = [];
  const run = async (args: string[]) => {
    await runChecked(runner, 'ip', args);
    actions.push(`ip ${args.join(' ')}`);
  };
  const xfrm = desired.xfrmInterface;
  if (xfrm) {
    let have = await readXfrmLink(runner, xfrm.name);
    // another kind, if_id or underlying interface: made again (its routes go with it and are added below)
    if (have && xfrmLinkDifferences(have, xfrm).length) {
      await run(['link', 'del', xfrm.name]);
      have = undefined;
    }
    if (!have) await run(['link', 'add', xfrm.name, 'type', 'xfrm', 'dev', xfrm.underlying, 'if_id', String(xfrm.ifId)]);
    // routes through a link that is down are refused ("Nexthop device is not up")
    if (!have?.up) await run(['link', 'set', xfrm.name, 'up']);
  }
  const have = await ownedRoutes(runner);
  const haveKeys = new Set(have.map((r) => r.key));
  const wanted = wantedRoutes(desired);
  // new routes first: a subnet that moves between tunnels is never left unprotected
  for (const w of wanted) if (!haveKeys.has(w.key)) await run(w.args);
  const wantKeys = new Set(wanted.map((w) => w.key));
  for (const r of have) {
    if (wantKeys.has(r.key)) continue;
    await run([`-${r.family}`, 'route', 'del', ...(r.type === 'unreachable' ? ['unreachable'] : []), r.dst, ...(r.metric !== undefined ? ['metric', String(r.metric)] : []), 'proto', VPN_ROUTE_PROTO]);
  }
  if (!xfrm) {
    const link = await runner.run('ip', ['-j', '-d', 'link', 'show', 'type', 'xfrm']);
    const links = link.code === 0 && link.stdout.trim() ? (JSON.parse(link.stdout) as Array<{ ifname: string }>) : [];
    for (const l of links) if (l.ifname === XFRM_INTERFACE) await run(['link', 'del', l.ifname]);
  }
  return actions;
}
