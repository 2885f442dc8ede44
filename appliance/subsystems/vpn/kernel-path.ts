// The VPN's own pieces of the kernel's routing: on the kernel data plane the
// XFRM interface (xfrm0) and the routes to remote subnets through it; on
// both data planes the fail-closed unreachable routes under them. All of
// them carry proto 78, so the set Junction owns is exactly what `ip route
// show proto 78` lists. With libipsec, charon routes into its TUN device
// itself (table 220, looked up before main). The xfrm0 part is only reached
// where the kernel has XFRM ESP (verify refuses a forced kernel data plane
// otherwise); not exercised on machines without XFRM.
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
    const link = await runner.run('ip', ['-j', 'link', 'show', 'dev', desired.xfrmInterface.name]);
    if (link.code !== 0) drift.push(`${desired.xfrmInterface.name} is missing`);
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
    const link = await runner.run('ip', ['-j', '-d', 'link', 'show', 'dev', xfrm.name]);
    if (link.code !== 0) {
      await run(['link', 'add', xfrm.name, 'type', 'xfrm', 'dev', xfrm.underlying, 'if_id', String(xfrm.ifId)]);
      await run(['link', 'set', xfrm.name, 'up']);
    }
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
