// The on-prem site's own BGP speaker for lab tests: a bird in the lab's
// onprem namespace, configured by hand (not by Junction), peering with
// Junction over dx0 (and dx1). Stopped by its pid; the lab's teardown kills
// whatever is left in its namespaces.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Lab } from '../../lab-kit/lab.js';
import { addressing } from '../../lab-kit/topology.js';
import { BirdProcess } from '../../../appliance/subsystems/bgp/bird-process.js';
import { birdCommand } from '../../../appliance/subsystems/bgp/bird-socket.js';
import type { BirdReply } from '../../../appliance/subsystems/bgp/reply-codes.js';

export const ONPREM_ASN = 65000;
export const JUNCTION_ASN = 64512;

export interface OnpremOptions {
  /** TCP MD5 key per link (dx0, dx1); absent = no password */
  passwords?: [string | undefined, string | undefined];
  /** peer over dx1 too (lab with dxLinks: 2) */
  secondLink?: boolean;
  /** prefixes announced besides the LAN (blackhole statics) */
  announce?: string[];
  /** BFD interval in ms (multiplier 3) */
  bfdIntervalMs?: number;
  /** BFD down while Junction's bird restarts is a graceful restart, not a hard down (\`bfd graceful\`) */
  bfdGraceful?: boolean;
}

export const DEFAULT_ANNOUNCE = ['10.50.1.0/24', '10.50.2.0/24', '203.0.113.0/24'];

export function onpremBirdConfig(options: OnpremOptions = {}): string {
  const op = addressing.onprem;
  const [pw0, pw1] = options.passwords ?? [undefined, undefined];
  const routes = [op.lanSubnet, ...(options.announce ?? DEFAULT_ANNOUNCE)].map((p) => `  route ${p} blackhole;`).join('\n');
  const session = (name: string, neighbor: string, iface: string, password: string | undefined) => `protocol bgp ${name} from dx {
  neighbor ${neighbor} as ${JUNCTION_ASN};
  interface "${iface}";
  ${password ? `password "${password}";` : ''}
}`;
  return `router id ${op.dxOnprem};
log stderr all;
timeformat protocol iso long ms;
protocol device { scan time 10; }
# learnt VPC routes go to this namespace's kernel (both links: one multipath route)
protocol kernel {
  ipv4 { import none; export where source = RTS_BGP; };
  merge paths on;
}
protocol bfd { interface "dx*" { interval ${options.bfdIntervalMs ?? 100} ms; multiplier 3; }; }
protocol static announce {
  ipv4;
${routes}
}
template bgp dx {
  local as ${ONPREM_ASN};
  direct;
  ${options.bfdGraceful ? 'bfd graceful;' : 'bfd on;'}
  connect retry time 2;
  error wait time 1, 5; # the lab cuts links on purpose; come back quickly
  ipv4 { import all; export where source = RTS_STATIC; };
}
${session('j1', op.dxRouter, 'dx0', pw0)}
${options.secondLink ? session('j2', op.dx1Router, 'dx1', pw1) : ''}
`;
}

export class OnpremBird {
  private readonly dir: string;
  private readonly bird: BirdProcess;

  constructor(lab: Lab) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'junction-onprem-bird-'));
    this.bird = new BirdProcess({ stateDir: this.dir, netns: lab.assertNamespace('onprem') });
  }

  get pid(): number | undefined {
    return this.bird.pid;
  }

  async start(options: OnpremOptions): Promise<void> {
    writeFileSync(this.bird.configFile, onpremBirdConfig(options));
    await this.bird.start();
  }

  /** Writes a new config and reconfigures (protocols whose config changed restart). */
  async reconfigure(options: OnpremOptions): Promise<void> {
    writeFileSync(this.bird.configFile, onpremBirdConfig(options));
    await this.command('configure');
  }

  command(command: string): Promise<BirdReply> {
    return birdCommand(this.bird.socketPath, command, { timeoutMs: 10_000 });
  }

  /** The text of a reply, one line each (for messages). */
  async text(command: string): Promise<string> {
    return (await this.command(command)).lines.map((l) => l.text).join('\n');
  }

  async stop(): Promise<void> {
    await this.bird.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  recentLog(): string[] {
    return this.bird.recentLog();
  }
}
