// A whole appliance behind the REST API, with a stateful fake kernel: the
// RecordingCommandRunner answers `ip`, `sysctl` and `nft` from an in-memory
// model that the mutating commands change, so a second apply of the same
// revision finds nothing to do and the transcript shows it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildServer } from '../../../api/server.js';
import { createAppliance, type Appliance } from '../../../appliance/main/appliance.js';
import { type CommandResult } from '../../../appliance/platform/command-runner.js';
import { RecordingCommandRunner, type RecordedCommand } from '../../support/recording-runner.js';
import { NO_CAPABILITIES } from '../../../appliance/platform/capabilities.js';
import { memoryLogger } from '../../support/memory-logger.js';
import { FakeNftTable } from '../../support/fake-nft.js';

export const DEMO_YAML = readFileSync(new URL('../../lab-kit/demo.yaml', import.meta.url), 'utf8');

interface FakeAddress { family: 'inet' | 'inet6'; local: string; prefixlen: number; scope: string }
interface FakeLink { ifname: string; mtu: number; flags: string[]; addr_info: FakeAddress[] }
interface FakeRoute { dst: string; gateway?: string; dev?: string; metric?: number; type?: string; protocol: string }

/** The kernel state the fake runner keeps. */
export class FakeKernel {
  links = new Map<string, FakeLink>();
  routes: Record<4 | 6, FakeRoute[]> = { 4: [], 6: [] };
  sysctls = new Map<string, string>();
  hostname = 'fake-kernel';
  readonly nft = new FakeNftTable();
  /** Junction's nft table as a listing would show it; undefined when absent */
  get table(): object[] | undefined {
    return this.nft.objects;
  }
  /** Return a result to make a command fail (or answer differently); undefined to carry on. */
  fault: ((c: RecordedCommand) => Partial<CommandResult> | undefined) | undefined;

  constructor(interfaces = ['ccnn0', 'vpc0', 'vpc1']) {
    for (const ifname of interfaces) this.links.set(ifname, { ifname, mtu: 1500, flags: ['UP'], addr_info: [] });
    for (const key of ['net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding', 'net.ipv4.conf.all.rp_filter', 'net.ipv4.conf.all.promote_secondaries']) {
      this.sysctls.set(key, '0');
    }
  }

  addresses(ifname: string): string[] {
    return (this.links.get(ifname)?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`);
  }

  handle(c: RecordedCommand): Partial<CommandResult> {
    const injected = this.fault?.(c);
    if (injected) return injected;
    const a = c.args;
    const line = [c.program, ...a].join(' ');
    if (c.program === 'ip') {
      if (line === 'ip -j addr show' || line === 'ip -d -j addr show') return { stdout: JSON.stringify([...this.links.values()]) };
      if (a[0] === 'addr' && (a[1] === 'add' || a[1] === 'del')) {
        const link = this.links.get(a[4]);
        if (!link) return { code: 1, stderr: `Cannot find device "${a[4]}"` };
        const [local, len] = a[2].split('/');
        const existing = link.addr_info.findIndex((x) => x.local === local && x.prefixlen === Number(len));
        if (a[1] === 'add') {
          if (existing >= 0) return { code: 2, stderr: 'RTNETLINK answers: File exists' };
          link.addr_info.push({ family: local.includes(':') ? 'inet6' : 'inet', local, prefixlen: Number(len), scope: 'global' });
        } else {
          if (existing < 0) return { code: 2, stderr: 'RTNETLINK answers: Cannot assign requested address' };
          link.addr_info.splice(existing, 1);
        }
        return {};
      }
      if (a[0] === 'link' && a[1] === 'set' && a[4] === 'mtu') {
        this.links.get(a[3])!.mtu = Number(a[5]);
        return {};
      }
      if (a[0] === 'link' && a[1] === 'set' && a[4] === 'up') {
        this.links.get(a[3])!.flags.push('UP');
        return {};
      }
      if ((a[0] === '-4' || a[0] === '-6') && a[1] === '-j' && a[2] === 'route' && a[3] === 'show') {
        const proto = a[a.indexOf('proto') + 1];
        return { stdout: JSON.stringify(this.routes[a[0] === '-4' ? 4 : 6].filter((r) => r.protocol === proto).map(({ protocol: _p, ...r }) => r)) };
      }
      if ((a[0] === '-4' || a[0] === '-6') && a[1] === 'route' && (a[2] === 'replace' || a[2] === 'del')) return this.route(a);
    }
    if (c.program === 'hostname') {
      if (a.length) this.hostname = a[0];
      return { stdout: `${this.hostname}\n` };
    }
    if (c.program === 'sysctl') {
      if (a[0] === '-n') return { stdout: `${this.sysctls.get(a[1]) ?? '0'}\n` };
      if (a[0] === '-q' && a[1] === '-w') {
        const [key, value] = a[2].split('=');
        this.sysctls.set(key, value);
        return {};
      }
    }
    if (c.program === 'nft') {
      if (line === 'nft -t -j list table inet junction' || line === 'nft -j list table inet junction') {
        const listing = this.nft.list(a[0] === '-t');
        if (listing === undefined) return { code: 1, stderr: 'Error: No such file or directory; did you mean table ‘junction’ in family inet?' };
        return { stdout: listing };
      }
      if (line === 'nft -j list chains inet') return { stdout: this.nft.listChains() };
      if (line.startsWith('nft -j list chain inet junction ')) {
        const listing = this.nft.listChain(a[5]);
        return listing === undefined ? { code: 1, stderr: 'Error: No such file or directory' } : { stdout: listing };
      }
      if (a[0] === '-j' && a[1] === '-f') {
        const echo = a[3] === '-e';
        try {
          const echoed = this.nft.load(JSON.parse(readFileSync(a[2], 'utf8')) as { nftables: Array<Record<string, Record<string, unknown>>> });
          return echo ? { stdout: JSON.stringify(echoed) } : {};
        } catch (error) {
          return { code: 1, stderr: `${(error as Error).message}\n` };
        }
      }
    }
    return { code: 127, stderr: `fake kernel: no answer for "${line}"` };
  }

  private route(a: string[]): Partial<CommandResult> {
    const family = a[0] === '-4' ? 4 : 6;
    const rest = a.slice(3);
    const blackhole = rest[0] === 'blackhole';
    if (blackhole) rest.shift();
    // `ip -j route show` calls the default route "default".
    const dst = rest[0] === '0.0.0.0/0' || rest[0] === '::/0' ? 'default' : rest[0];
    const opt = (name: string) => (rest.includes(name) ? rest[rest.indexOf(name) + 1] : undefined);
    const metric = Number(opt('metric') ?? 0);
    const protocol = opt('proto') ?? 'boot';
    const list = this.routes[family];
    const index = list.findIndex((r) => r.dst === dst && (r.metric ?? 0) === metric);
    if (a[2] === 'del') {
      if (index < 0) return { code: 2, stderr: 'RTNETLINK answers: No such process' };
      list.splice(index, 1);
      return {};
    }
    const route: FakeRoute = {
      dst,
      ...(opt('via') ? { gateway: opt('via') } : {}),
      ...(opt('dev') ? { dev: opt('dev') } : {}),
      ...(metric ? { metric } : {}),
      ...(blackhole ? { type: 'blackhole' } : {}),
      protocol,
    };
    if (index >= 0) list[index] = route;
    else list.push(route);
    return {};
  }

}

export interface Harness {
  app: FastifyInstance;
  appliance: Appliance;
  runner: RecordingCommandRunner;
  kernel: FakeKernel;
  log: ReturnType<typeof memoryLogger>;
  admin: string;
  /** an operate token: VPN/BGP control, commit confirm/cancel, reconcile */
  operator: string;
  reader: string;
  stateDir: string;
  /** Authorization header for a token (admin by default) */
  auth(token?: string): { authorization: string };
  /** The transcript from `from` (an index into runner.commands) on. */
  transcriptSince(from: number): string[];
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const stateDir = mkdtempSync(join(tmpdir(), 'junction-api-test-'));
  const kernel = new FakeKernel();
  const runner = new RecordingCommandRunner().on(() => true, (c) => kernel.handle(c));
  const log = memoryLogger();
  const appliance = createAppliance({ stateDir, runner, capabilities: NO_CAPABILITIES, log });
  const app = await buildServer({ reconciler: appliance.reconciler, store: appliance.store, status: appliance.status, log, metrics: { service: appliance.metrics, allow: [] } });
  await app.ready();
  const admin = appliance.store.createToken('test-admin', 'admin').token;
  const operator = appliance.store.createToken('test-operator', 'operate').token;
  const reader = appliance.store.createToken('test-reader', 'read').token;
  return {
    app, appliance, runner, kernel, log, admin, operator, reader, stateDir,
    auth: (token = admin) => ({ authorization: `Bearer ${token}` }),
    transcriptSince: (from) => runner.transcript().slice(from),
    close: async () => {
      await app.close();
      appliance.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Commands that change the system (as opposed to reading it). */
export function mutating(lines: string[]): string[] {
  return lines.filter((l) =>
    /^nft -j -f /.test(l) ||
    /^ip (addr (add|del)|link set|-[46] route (replace|del))/.test(l) ||
    /^sysctl -q -w/.test(l) ||
    /^hostname \S/.test(l));
}

export function json<T = Record<string, any>>(response: LightMyRequestResponse): T {
  return response.json() as T;
}

/** A small valid document used where the demo would be noise. */
export function smallConfig(): Record<string, any> {
  return {
    interfaces: [
      { name: 'ccnn0', role: 'ccnn', zone: 'ccnn', addresses: ['100.64.0.2/24'] },
      { name: 'vpc0', role: 'vpc', zone: 'vpc-a', addresses: ['10.1.0.1/24'] },
      { name: 'vpc1', role: 'vpc', zone: 'vpc-b', addresses: ['10.2.0.1/24'] },
    ],
    zones: [{ name: 'ccnn' }, { name: 'vpc-a' }, { name: 'vpc-b' }],
    firewall: {
      policies: [
        { name: 'a-to-b', from: 'vpc-a', to: 'vpc-b', rules: [{ id: 'web', action: 'accept', services: ['tcp/443'] }] },
      ],
    },
    routes: { static: [{ id: 'default', destination: '0.0.0.0/0', via: '100.64.0.1' }] },
  };
}
