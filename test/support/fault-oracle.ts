// An oracle for the fault harness (test/lab/fault-commits.test.ts) that does
// not trust Junction's own drift(): it reads what the kernel and the daemons
// hold, in the router namespace, with the real tools, and compares it with
// the rendering of the current revision.
// - nftables: the rendered batch is loaded into a scratch namespace and
//   listed there, so both sides are nft's own canonical JSON; handles and
//   counter values are dropped, set elements sorted, rules kept in order.
// - routes with protocol 77, and the addresses of the configured interfaces.
// - charon: the connections and children it has loaded (VICI list-conns,
//   with the project's client) and its shared-secret ids.
// - bird: the protocols it runs (`show protocols all` over its socket) and
//   the config file it was given.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandRunner } from '../../appliance/platform/command-runner.js';
import type { FirewallArtifact } from '../../appliance/subsystems/firewall/index.js';
import type { RoutesArtifact } from '../../appliance/subsystems/routes/index.js';
import type { LinksArtifact } from '../../appliance/subsystems/links/index.js';
import type { VpnArtifact } from '../../appliance/subsystems/vpn/render.js';
import type { BgpArtifact } from '../../appliance/subsystems/bgp/render.js';
import { ViciClient } from '../../appliance/subsystems/vpn/vici/client.js';
import { toPlain, type ViciPlain, type ViciSection } from '../../appliance/subsystems/vpn/vici/codec.js';
import { birdCommand } from '../../appliance/subsystems/bgp/bird-socket.js';

type Json = Record<string, any>;

export interface OracleTarget {
  runner: CommandRunner;
  /** the namespace Junction runs in */
  routerNs: string;
  /** an empty namespace of the test's own, to canonicalize the rendered batch */
  scratchNs: string;
  /** Junction's state directory (charon and bird sockets and pid files live under it) */
  stateDir: string;
  /** a directory for scratch files */
  workDir: string;
}

async function inNs(t: OracleTarget, ns: string, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return t.runner.run('ip', ['netns', 'exec', ns, ...argv], { timeoutMs: 30_000 });
}

// ---- nftables ------------------------------------------------------------

/** nft's listing with what varies at run time removed: handles, counter values, element order. */
export function canonicalNftObjects(listing: { nftables: Json[] }): string[] {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value && typeof value === 'object') {
      const out: Json = {};
      for (const [k, v] of Object.entries(value)) {
        if (k === 'handle') continue;
        // a counter statement in a rule, or a named counter: the values change with traffic
        if (k === 'counter' && v && typeof v === 'object' && 'packets' in (v as Json)) {
          const { packets: _p, bytes: _b, ...rest } = v as Json;
          out[k] = strip(rest);
          continue;
        }
        out[k] = strip(v);
      }
      return out;
    }
    return value;
  };
  const lines: string[] = [];
  const rulesByChain = new Map<string, string[]>();
  for (const entry of listing.nftables) {
    const [kind, body] = Object.entries(entry)[0] ?? [];
    if (!kind || kind === 'metainfo') continue;
    const spec = strip(body) as Json;
    if (kind === 'counter' || kind === 'quota') {
      delete spec.packets;
      delete spec.bytes;
      delete spec.used;
    }
    if ((kind === 'set' || kind === 'map') && Array.isArray(spec.elem)) {
      spec.elem = [...spec.elem].map((e) => JSON.stringify(e)).sort();
    }
    if (kind === 'rule') {
      const chain = String(spec.chain);
      rulesByChain.set(chain, [...(rulesByChain.get(chain) ?? []), `rule ${JSON.stringify(spec)}`]);
    } else {
      lines.push(`${kind} ${JSON.stringify(spec)}`);
    }
  }
  lines.sort();
  for (const chain of [...rulesByChain.keys()].sort()) {
    rulesByChain.get(chain)!.forEach((rule, i) => lines.push(`${chain}#${i} ${rule}`));
  }
  return lines;
}

async function listTable(t: OracleTarget, ns: string): Promise<string[] | undefined> {
  const result = await inNs(t, ns, ['nft', '-j', 'list', 'table', 'inet', 'junction']);
  if (result.code !== 0) return undefined;
  return canonicalNftObjects(JSON.parse(result.stdout) as { nftables: Json[] });
}

/** What nft shows after loading the rendered batch into the scratch namespace (cached per batch). */
const canonicalRendering = new Map<string, string[] | undefined>();
async function renderedTable(t: OracleTarget, firewall: FirewallArtifact): Promise<string[] | undefined> {
  const key = createHash('sha256').update(JSON.stringify(firewall.ruleset.nftables)).digest('hex');
  const cached = canonicalRendering.get(key);
  if (cached || canonicalRendering.has(key)) return cached;
  const ops = firewall.ruleset.nftables as Json[];
  // the "absent" artifact removes the table: nothing should be listed
  const removes = ops.length > 0 && 'delete' in ops[ops.length - 1]!;
  let listing: string[] | undefined;
  if (!removes) {
    const file = join(t.workDir, 'oracle-batch.json');
    writeFileSync(file, JSON.stringify({ nftables: ops }));
    const loaded = await inNs(t, t.scratchNs, ['nft', '-j', '-f', file]);
    if (loaded.code !== 0) throw new Error(`the rendered batch does not load into the scratch namespace: ${loaded.stderr}`);
    listing = await listTable(t, t.scratchNs);
  }
  if (canonicalRendering.size > 200) canonicalRendering.clear();
  canonicalRendering.set(key, listing);
  return listing;
}

function setDiff(what: string, want: string[] | undefined, have: string[] | undefined): string[] {
  if (!want && !have) return [];
  if (!want) return [`${what}: present in the kernel but the rendering has none`];
  if (!have) return [`${what}: missing in the kernel`];
  const wantSet = new Set(want);
  const haveSet = new Set(have);
  const missing = want.filter((l) => !haveSet.has(l)).map((l) => `${what} missing: ${l.slice(0, 300)}`);
  const extra = have.filter((l) => !wantSet.has(l)).map((l) => `${what} unexpected: ${l.slice(0, 300)}`);
  return [...missing, ...extra];
}

export async function nftDivergence(t: OracleTarget, firewall: FirewallArtifact): Promise<string[]> {
  return setDiff('nft', await renderedTable(t, firewall), await listTable(t, t.routerNs));
}

// ---- routes and addresses --------------------------------------------------

function canonicalDestination(dst: string, family: 4 | 6): string {
  if (dst === 'default') return family === 4 ? '0.0.0.0/0' : '::/0';
  return dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`;
}

export async function routesDivergence(t: OracleTarget, routes: RoutesArtifact): Promise<string[]> {
  const have: string[] = [];
  for (const family of [4, 6] as const) {
    const result = await inNs(t, t.routerNs, ['ip', `-${family}`, '-j', 'route', 'show', 'table', 'main', 'proto', '77']);
    if (result.code !== 0) throw new Error(`ip route show failed: ${result.stderr}`);
    for (const r of JSON.parse(result.stdout || '[]') as Json[]) {
      const blackhole = r.type === 'blackhole';
      have.push(JSON.stringify({ dst: canonicalDestination(String(r.dst), family), blackhole, via: blackhole ? undefined : r.gateway, metric: r.metric ?? 0, dev: blackhole ? undefined : r.dev }));
    }
  }
  const want = routes.routes.map((r) => ({ dst: r.destination, blackhole: r.blackhole, via: r.blackhole ? undefined : r.via, metric: r.metric, dev: r.interface }));
  // A route without an interface gets its device from the kernel's lookup of the next hop.
  const unspecifiedDev = new Set(want.filter((w) => !w.blackhole && !w.dev).map((w) => w.dst));
  const haveNormalized = have.map((h) => {
    const parsed = JSON.parse(h) as Json;
    if (unspecifiedDev.has(parsed.dst)) delete parsed.dev;
    return JSON.stringify(parsed);
  }).sort();
  return setDiff('route', want.map((w) => JSON.stringify(w)).sort(), haveNormalized);
}

export async function addressesDivergence(t: OracleTarget, links: LinksArtifact): Promise<string[]> {
  const result = await inNs(t, t.routerNs, ['ip', '-j', 'addr', 'show']);
  if (result.code !== 0) throw new Error(`ip addr show failed: ${result.stderr}`);
  const observed = new Map((JSON.parse(result.stdout) as Json[]).map((l) => [String(l.ifname), l]));
  const out: string[] = [];
  for (const link of links.links) {
    if (link.dhcp) continue;
    const have = ((observed.get(link.name)?.addr_info ?? []) as Json[])
      .filter((a) => !(a.family === 'inet6' && a.scope === 'link'))
      .map((a) => `${a.local}/${a.prefixlen}`).sort();
    out.push(...setDiff(`address on ${link.name}`, [...link.addresses].sort(), have));
  }
  return out;
}

// ---- charon ----------------------------------------------------------------

const seconds = (value: unknown) => String(value ?? '').replace(/s$/, '');
/** load-conn accepts synonyms that list-conns reports by one name (strongSwan 5.9: none, trap, start). */
const ACTION_NAMES: Record<string, string> = { restart: 'start', route: 'trap', hold: 'trap', clear: 'none' };
const action = (value: unknown) => (value === undefined ? undefined : ACTION_NAMES[String(value)] ?? String(value));

/** The parts of a rendered load-conn that list-conns reports back, in list-conns' terms. */
function expectedConn(config: ViciSection): Json {
  const c = toPlain(config) as Json;
  const children = (c.children ?? {}) as Record<string, Json>;
  return {
    version: `IKEv${c.version}`,
    local_addrs: c.local_addrs ?? ['%any'],
    remote_addrs: c.remote_addrs,
    ...(c.rekey_time !== undefined ? { rekey_time: seconds(c.rekey_time) } : {}),
    ...(c.reauth_time !== undefined ? { reauth_time: seconds(c.reauth_time) } : {}),
    dpd_delay: seconds(c.dpd_delay),
    children: Object.fromEntries(Object.entries(children).map(([name, child]) => [name, {
      mode: String(child.mode).toUpperCase(),
      local_ts: child.local_ts,
      remote_ts: child.remote_ts,
      rekey_time: seconds(child.rekey_time),
      dpd_action: action(child.dpd_action),
      close_action: action(child.close_action),
      // start_action is not in list-conns (strongSwan 5.9), so it cannot be compared here
    }])),
  };
}

/** The same parts of a list-conns entry. */
function observedConn(entry: ViciPlain): Json {
  const children = (entry.children ?? {}) as Record<string, Json>;
  return {
    version: entry.version,
    local_addrs: entry.local_addrs,
    remote_addrs: entry.remote_addrs,
    ...(entry.version === 'IKEv1' ? { reauth_time: entry.reauth_time } : { rekey_time: entry.rekey_time }),
    dpd_delay: entry.dpd_delay,
    children: Object.fromEntries(Object.entries(children).map(([name, child]) => [name, {
      mode: child.mode,
      local_ts: child['local-ts'],
      remote_ts: child['remote-ts'],
      rekey_time: child.rekey_time,
      dpd_action: action(child.dpd_action),
      close_action: action(child.close_action),
    }])),
  };
}

function pidAlive(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim().split(/\s+/)[0]);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export const charonPidFile = (stateDir: string) => join(stateDir, 'charon', 'charon.pid');
export const birdPidFile = (stateDir: string) => join(stateDir, 'bird', 'bird.pid');

export async function charonDivergence(t: OracleTarget, vpn: VpnArtifact): Promise<string[]> {
  const running = pidAlive(charonPidFile(t.stateDir));
  if (!vpn.active) return running ? [`charon (pid ${running}) runs but no peer is configured`] : [];
  if (!running) return ['charon is not running while peers are configured'];
  let client: ViciClient;
  try {
    client = await ViciClient.connect(join(t.stateDir, 'charon', 'charon.vici'), { timeoutMs: 10_000 });
  } catch (error) {
    return [`charon does not answer on VICI: ${(error as Error).message}`];
  }
  try {
    const have = new Map((await client.listConns()).map((e) => [e.name, JSON.stringify(observedConn(e.value))]));
    const want = new Map(vpn.connections.map((c) => [c.name, JSON.stringify(expectedConn(c.config))]));
    const out: string[] = [];
    for (const [name, text] of want) {
      if (!have.has(name)) out.push(`charon: connection ${name} not loaded`);
      else if (have.get(name) !== text) out.push(`charon: connection ${name} differs: loaded ${have.get(name)}, rendered ${text}`);
    }
    for (const name of have.keys()) if (!want.has(name)) out.push(`charon: connection ${name} loaded but not rendered`);
    const shared = (await client.getShared()).sort();
    out.push(...setDiff('charon shared secret', vpn.secrets.map((s) => s.id).sort(), shared));
    return out;
  } finally {
    client.close();
  }
}

// ---- bird --------------------------------------------------------------------

/** Protocol names declared in a bird.conf: `protocol <type> <name>`. */
function declaredProtocols(text: string): Map<string, string> {
  const out = new Map<string, string>();
  // names are quoted symbols ('bgp_dx-1'), so they may hold a '-'
  for (const match of text.matchAll(/^\s*protocol\s+(\w+)\s+'?([^'\s{]+)'?\s*(?:from\s+\S+\s*)?\{/gm)) out.set(match[2]!, match[1]!);
  return out;
}

/** Per rendered bgp protocol: the neighbor address and AS and the local AS, as `show protocols all` prints them. */
function declaredBgp(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const localAs = /local\s+as\s+(\d+)/.exec(text)?.[1];
  for (const block of text.split(/^protocol /m).slice(1)) {
    const head = /^bgp\s+'?([^'\s{]+)'?/.exec(block);
    if (!head) continue;
    const neighbor = /neighbor\s+([0-9a-fA-F:.]+)\s+as\s+(\d+)/.exec(block);
    const local = /local(?:\s+[0-9a-fA-F:.]+)?\s+as\s+(\d+)/.exec(block)?.[1] ?? localAs;
    // bird shows a link-bound neighbor as address%interface
    const iface = /^\s*interface\s+"([^"]+)"/m.exec(block)?.[1];
    out.set(head[1]!, `neighbor ${neighbor?.[1]}${iface ? `%${iface}` : ''} as ${neighbor?.[2]}, local as ${local}`);
  }
  return out;
}

export async function birdDivergence(t: OracleTarget, bgp: BgpArtifact): Promise<string[]> {
  const running = pidAlive(birdPidFile(t.stateDir));
  if (!bgp.active) return running ? [`bird (pid ${running}) runs but no bgp section is configured`] : [];
  if (!running) return ['bird is not running while a bgp section is configured'];
  const out: string[] = [];
  const socket = join(t.stateDir, 'bird', 'bird.ctl');
  let reply: Awaited<ReturnType<typeof birdCommand>>;
  try {
    reply = await birdCommand(socket, 'show protocols all', { timeoutMs: 10_000 });
  } catch (error) {
    return [`bird does not answer on its socket: ${(error as Error).message}`];
  }
  const text = reply.lines.map((l) => l.text).join('\n');
  const running_ = new Map<string, string>();
  const bgpRunning = new Map<string, string>();
  let current: string | undefined;
  let neighbor: { address?: string; as?: string; local?: string } = {};
  const flush = () => {
    if (current && neighbor.address) bgpRunning.set(current, `neighbor ${neighbor.address} as ${neighbor.as}, local as ${neighbor.local}`);
  };
  for (const line of text.split('\n')) {
    const head = /^(\S+)\s+(\w+)\s+\S+\s+(up|down|start)\b/i.exec(line);
    if (head) {
      flush();
      current = head[1];
      neighbor = {};
      running_.set(head[1]!, head[2]!);
      continue;
    }
    const address = /^\s+Neighbor address:\s+(\S+)/.exec(line);
    if (address) neighbor.address = address[1];
    const as = /^\s+Neighbor AS:\s+(\d+)/.exec(line);
    if (as) neighbor.as = as[1];
    const local = /^\s+Local AS:\s+(\d+)/.exec(line);
    if (local) neighbor.local = local[1];
  }
  flush();
  const declared = declaredProtocols(bgp.text);
  out.push(...setDiff('bird protocol', [...declared].map(([n, type]) => `${n} ${type.toLowerCase()}`).sort(), [...running_].map(([n, type]) => `${n} ${type.toLowerCase()}`).sort()));
  out.push(...setDiff('bird bgp session', [...declaredBgp(bgp.text)].map(([n, s]) => `${n}: ${s}`).sort(), [...bgpRunning].map(([n, s]) => `${n}: ${s}`).sort()));
  let file = '';
  try {
    file = readFileSync(join(t.stateDir, 'bird', 'bird.conf'), 'utf8');
  } catch {
    // reported below as a difference
  }
  if (file !== bgp.text) out.push('bird.conf on disk differs from the rendering');
  return out;
}
