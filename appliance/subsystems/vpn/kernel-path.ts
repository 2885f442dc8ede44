// The kernel data plane's own pieces: the XFRM interface (xfrm0) and the
// routes to remote subnets through it (proto 78). With libipsec, charon
// routes into its TUN device itself and none of this exists. Only reached
// where the kernel has XFRM ESP (verify refuses a forced kernel data plane
// otherwise); not exercised on machines without XFRM.
import { runChecked, type CommandRunner } from '../../platform/command-runner.js';
import { VPN_ROUTE_PROTO, XFRM_INTERFACE, type VpnArtifact } from './render.js';

async function vpnRoutes(runner: CommandRunner): Promise<string[]> {
  const out = await runner.run('ip', ['-j', 'route', 'show', 'table', 'main', 'proto', VPN_ROUTE_PROTO]);
  if (out.code !== 0 || !out.stdout.trim()) return [];
  return (JSON.parse(out.stdout) as Array<{ dst: string }>).map((r) => r.dst);
}

export async function kernelPathDrift(runner: CommandRunner, desired: VpnArtifact): Promise<string[]> {
  const drift: string[] = [];
  const name = desired.xfrmInterface?.name ?? XFRM_INTERFACE;
  const link = await runner.run('ip', ['-j', 'link', 'show', 'dev', name]);
  if (link.code !== 0) drift.push(`${name} is missing`);
  const have = await vpnRoutes(runner);
  for (const r of desired.routes) if (!have.includes(r.destination)) drift.push(`route ${r.destination} dev ${r.dev} is missing`);
  return drift;
}

/** Creates xfrm0 and sets the routes through it (or removes both when the artifact has none); returns the commands run. */
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
  const have = await vpnRoutes(runner);
  const want = new Set(desired.routes.map((r) => r.destination));
  for (const r of desired.routes) if (!have.includes(r.destination)) await run(['route', 'replace', r.destination, 'dev', r.dev, 'proto', VPN_ROUTE_PROTO]);
  for (const dst of have) if (!want.has(dst)) await run(['route', 'del', dst, 'proto', VPN_ROUTE_PROTO]);
  if (!xfrm) {
    const link = await runner.run('ip', ['-j', '-d', 'link', 'show', 'type', 'xfrm']);
    const links = link.code === 0 && link.stdout.trim() ? (JSON.parse(link.stdout) as Array<{ ifname: string }>) : [];
    for (const l of links) if (l.ifname === XFRM_INTERFACE) await run(['link', 'del', l.ifname]);
  }
  return actions;
}
