// DHCP client for the ccnn interface (the cloud can hand the pod network
// address out by DHCP). BusyBox udhcpc does the protocol; a script we
// write applies the lease with iproute2 and records it for status. The
// client outlives Junction (the lease, and forwarding, must not notice a
// restart of the control plane): a new Junction adopts the client an
// earlier one left when it runs our lease script on the same interface.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { processArgs } from '../../platform/stale-process.js';
import { join } from 'node:path';
import { Supervisor } from '../../platform/supervisor.js';
import type { Logger } from '../../platform/log.js';

/** Metric of the default route learned by DHCP: below it, a static default (metric 0) wins. */
export const DHCP_DEFAULT_ROUTE_METRIC = 100;

export interface DhcpLease {
  interface: string;
  address: string;
  router?: string;
  lease_s?: number;
  obtained_at: string;
}

const SCRIPT = `#!/bin/sh
# Written by Junction: applies udhcpc's lease events with iproute2.
lease_file="$JUNCTION_LEASE_DIR/$interface.json"
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface" scope global
    ip link set dev "$interface" up
    rm -f "$lease_file"
    ;;
  bound|renew)
    # Replace rather than flush, so a renewal of the same address is seamless.
    for old in $(ip -4 -o addr show dev "$interface" scope global | awk '{print $4}'); do
      [ "$old" = "$ip/$mask" ] || ip addr del "$old" dev "$interface"
    done
    ip addr replace "$ip/$mask" dev "$interface"
    gw=""
    for r in $router; do gw="$r"; break; done
    if [ -n "$gw" ]; then
      ip route replace default via "$gw" dev "$interface" proto dhcp metric ${DHCP_DEFAULT_ROUTE_METRIC}
    fi
    printf '{"interface":"%s","address":"%s/%s","router":"%s","lease_s":%s,"obtained_at":"%s"}\\n' \\
      "$interface" "$ip" "$mask" "$gw" "\${lease:-0}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$lease_file"
    ;;
esac
exit 0
`;

export class DhcpClients {
  private readonly clients = new Map<string, Supervisor>();
  private readonly dir: string;

  constructor(stateDir: string, private readonly log: Logger) {
    this.dir = join(stateDir, 'dhcp-client');
  }

  running(): string[] {
    return [...this.clients.entries()].filter(([, c]) => c.running).map(([name]) => name);
  }

  /** Each client's state, for GET /metrics. */
  states(): Array<{ interface: string; running: boolean; restarts: number }> {
    return [...this.clients.entries()].map(([name, c]) => ({ interface: name, running: c.running, restarts: c.restarts }));
  }

  lease(iface: string): DhcpLease | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir, `${iface}.json`), 'utf8')) as DhcpLease;
    } catch {
      return undefined;
    }
  }

  /** Interfaces whose client should run but does not, and clients that should not run. */
  drift(wanted: string[]): string[] {
    const running = this.running();
    return [
      ...wanted.filter((i) => !running.includes(i)).map((i) => `dhcp client not running on ${i}`),
      ...running.filter((i) => !wanted.includes(i)).map((i) => `dhcp client running on ${i}, which is not dhcp`),
    ];
  }

  /** Starts clients for `wanted` and stops the others; returns what it did. */
  async ensure(wanted: string[]): Promise<string[]> {
    const actions: string[] = [];
    for (const [name, client] of this.clients) {
      if (wanted.includes(name)) continue;
      await client.stop();
      this.clients.delete(name);
      actions.push(`stop dhcp client on ${name}`);
    }
    if (!wanted.length) return actions;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const script = join(this.dir, 'lease.sh');
    let scriptText: string | undefined;
    try {
      scriptText = readFileSync(script, 'utf8');
    } catch {
      scriptText = undefined;
    }
    if (scriptText !== SCRIPT) {
      writeFileSync(script, SCRIPT);
      chmodSync(script, 0o700);
    }
    for (const iface of wanted) {
      const existing = this.clients.get(iface);
      if (existing?.running) continue;
      await existing?.stop();
      const client = new Supervisor({
        name: `udhcpc(${iface})`,
        program: 'busybox',
        // -f: foreground, so it is our child. No -R: the lease (and forwarding)
        // must outlive a restart of Junction itself.
        args: ['udhcpc', '-f', '-i', iface, '-s', script, '-t', '5', '-T', '3', '-A', '5'],
        pidFile: { path: join(this.dir, `${iface}.pid`), marker: script },
        env: { ...process.env, JUNCTION_LEASE_DIR: this.dir },
        // its output to a file: it keeps running after Junction exits
        logFile: join(this.dir, `${iface}.log`),
        onLog: (line) => this.log.debug('dhcp client', { interface: iface, line }),
      });
      this.clients.set(iface, client);
      const adopted = await client.adopt(async (pid) => {
        if (scriptText !== SCRIPT) return 'its lease script was not the current one';
        const args = processArgs(pid);
        return args.includes(iface) && args[args.indexOf(iface) - 1] === '-i' ? undefined : `it does not serve ${iface}`;
      });
      if (adopted !== undefined) {
        this.log.info('dhcp client: adopted the one an earlier Junction left running', { interface: iface, pid: adopted });
        continue;
      }
      await client.start();
      actions.push(`start dhcp client on ${iface}`);
    }
    return actions;
  }

  /** Junction's clean stop: the clients keep their leases for the next Junction to adopt. */
  detachAll(): void {
    for (const client of this.clients.values()) client.detach();
    this.clients.clear();
  }

  async stopAll(): Promise<void> {
    await this.ensure([]);
  }
}
