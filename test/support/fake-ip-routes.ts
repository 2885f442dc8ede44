// Unit-test fake of the CommandRunner seam for `ip route`: a main routing
// table that `ip [-j] [-4|-6] route replace|del|show` act on, so a subsystem's
// apply and drift of its own routes can be checked without a kernel. Other
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

const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });

export class FakeIpRoutes implements CommandRunner {
  readonly routes: FakeRoute[] = [];
  readonly commands: string[] = [];

  async run(program: string, args: string[]): Promise<CommandResult> {
    this.commands.push([program, ...args].join(' '));
    if (program !== 'ip') return ok();
    const family = args.includes('-6') ? 6 : 4;
    const rest = args.filter((a) => !/^-[j46d]$/.test(a));
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
}
