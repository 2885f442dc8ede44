// Unit-test fake of the CommandRunner seam for `ip route`: a main routing
// table that `ip [-j] [-4|-6] route replace|del|show` act on, so a subsystem's
// apply and drift of its own routes can be checked without a kernel, and the
// links `ip [-j] [-d] link add|set|del|show` create (the VPN's xfrm0). Other
// commands succeed with empty output. Used for the VPN's proto-78 routes.
import type { CommandResult, CommandRunner } from '../../appliance/platform/command-runner.js';

export interface FakeRoute {
  family: 4 | 6;
  dst: string;
  type?: 'unreachable';
  dev?: string;
  metric?: number;
  protocol: string;
}

export interface FakeLink {
  name: string;
  kind: string;
  up: boolean;
  ifId?: number;
  /** the underlying interface */
  link?: string;
}

const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });

export class FakeIpRoutes implements CommandRunner {
  readonly routes: FakeRoute[] = [];
  readonly links = new Map<string, FakeLink>();
  readonly commands: string[] = [];

  async run(program: string, args: string[]): Promise<CommandResult> {
    this.commands.push([program, ...args].join(' '));
    if (program !== 'ip') return ok();
    const family = args.includes('-6') ? 6 : 4;
    const rest = args.filter((a) => !/^-[j46d]$/.test(a));
    if (rest[0] === 'link') return this.link(rest.slice(1));
    if (rest[0] !== 'route') return ok();
    const verb = rest[1];
    const words = rest.slice(2);
    const value = (key: string) => (words.includes(key) ? words[words.indexOf(key) + 1] : undefined);
    if (verb === 'show') {
      const proto = value('proto');
      const listed = this.routes.filter((r) => r.family === family && (!proto || r.protocol === proto));
      return ok(JSON.stringify(listed.map((r) => ({ dst: r.dst, ...(r.type ? { type: r.type } : {}), ...(r.dev ? { dev: r.dev } : {}), protocol: r.protocol, ...(r.metric !== undefined ? { metric: r.metric } : {}) }))));
    }
    const type = words[0] === 'unreachable' ? 'unreachable' : undefined;
    const dst = type ? words[1]! : words[0]!;
    const metricText = value('metric');
    const route: FakeRoute = { family, dst, ...(type ? { type } : {}), ...(value('dev') ? { dev: value('dev') } : {}), ...(metricText ? { metric: Number(metricText) } : {}), protocol: value('proto') ?? 'boot' };
    const same = (r: FakeRoute) => r.family === family && r.dst === dst && (r.metric ?? 0) === (route.metric ?? 0);
    const at = this.routes.findIndex(same);
    if (verb === 'replace') {
      if (at >= 0) this.routes.splice(at, 1, route);
      else this.routes.push(route);
      return ok();
    }
    if (verb === 'del') {
      if (at < 0) return { code: 2, stdout: '', stderr: 'RTNETLINK answers: No such process' };
      this.routes.splice(at, 1);
      return ok();
    }
    return ok();
  }

  private link(words: string[]): CommandResult {
    const [verb, name] = words;
    const value = (key: string) => (words.includes(key) ? words[words.indexOf(key) + 1] : undefined);
    // as iproute2 prints it: if_id in hex text, the underlying interface by name
    const shown = (l: FakeLink) => ({ ifname: l.name, flags: l.up ? ['UP'] : [], linkinfo: { info_kind: l.kind, info_data: { ...(l.ifId ? { if_id: `0x${l.ifId.toString(16)}` } : {}), ...(l.link ? { link: l.link } : {}) } } });
    if (verb === 'show') {
      if (value('type')) return ok(JSON.stringify([...this.links.values()].filter((l) => l.kind === value('type')).map(shown)));
      const l = this.links.get(value('dev') ?? '');
      return l ? ok(JSON.stringify([shown(l)])) : { code: 1, stdout: '', stderr: `Device "${value('dev')}" does not exist.` };
    }
    if (verb === 'add') {
      if (this.links.has(name!)) return { code: 2, stdout: '', stderr: 'RTNETLINK answers: File exists' };
      this.links.set(name!, { name: name!, kind: value('type') ?? 'dummy', up: false, ...(value('if_id') ? { ifId: Number(value('if_id')) } : {}), ...(value('dev') ? { link: value('dev') } : {}) });
      return ok();
    }
    const l = this.links.get(name ?? '');
    if (!l) return { code: 1, stdout: '', stderr: `Cannot find device "${name}"` };
    if (verb === 'set') l.up = words.includes('up') ? true : words.includes('down') ? false : l.up;
    if (verb === 'del') {
      this.links.delete(l.name);
      // routes through it go with it, as in the kernel
      for (let i = this.routes.length - 1; i >= 0; i--) if (this.routes[i]!.dev === l.name) this.routes.splice(i, 1);
    }
    return ok();
  }
}
