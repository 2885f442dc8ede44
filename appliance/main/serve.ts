// `junction serve`: the appliance process. Checks the machine (the same
// checks as `junction doctor`), opens the store, re-applies the current
// revision, then serves the API on TCP and on a root-only Unix socket in
// the state directory.
import { createServer, type Server } from 'node:http';
import { chmodSync, existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SystemCommandRunner } from '../platform/command-runner.js';
import { checkMachine } from './requirements.js';
import { createAppliance } from './appliance.js';
import { createLogger } from '../platform/log.js';
import { DhcpClients } from '../subsystems/links/dhcp-client.js';
import { FirewallLog } from '../subsystems/firewall/log-reader.js';
import { failClosedUntilFirstRevision } from '../subsystems/firewall/fail-closed.js';
import { buildServer } from '../../api/server.js';

export interface ServeOptions {
  stateDir: string;
  host: string;
  port: number;
}

const DEFAULT_RECONCILE_S = 30;

export async function serve(options: ServeOptions): Promise<void> {
  const log = createLogger('junction');
  process.on('unhandledRejection', (reason) => log.error('unhandled rejection', { error: String((reason as Error)?.message ?? reason) }));
  const runner = new SystemCommandRunner();
  const machine = await checkMachine(runner);
  const { capabilities } = machine;
  for (const note of capabilities.notes) log.warn('platform', { note });
  // A missing feature package leaves that subsystem unable to apply: say so
  // now, not at the first commit that needs it; /v1/status carries the same.
  for (const check of machine.checks) if (!check.ok) log.error('missing requirement', { check: check.id, problem: check.message });
  if (machine.coreMissing) {
    log.error('cannot serve: a core requirement is missing (see above; run `junction doctor`)');
    process.exit(1);
  }
  const dhcpClients = new DhcpClients(options.stateDir, log);
  const firewallLog = new FirewallLog(options.stateDir, log);
  const appliance = createAppliance({ stateDir: options.stateDir, runner, capabilities, log, apiPort: options.port, dhcpClients, firewallLog });
  const { store, reconciler, status } = appliance;
  await failClosedUntilFirstRevision(runner, reconciler, options.port, log);

  const tokenFile = join(options.stateDir, 'api-token');
  if (store.tokenCount() === 0) {
    const { token } = store.createToken('bootstrap', 'admin');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    chmodSync(tokenFile, 0o600);
    log.info('created the bootstrap admin token', { file: tokenFile });
  }

  const boot = await reconciler.boot();
  log.info('boot', { revision: boot.revision, repaired: Object.keys(boot.repaired), errors: boot.errors });
  const arm = (seconds?: number) => reconciler.startPeriodicReconcile(seconds ?? DEFAULT_RECONCILE_S);
  arm(reconciler.currentConfig()?.system?.reconcile_interval_s);

  reconciler.onCommitted((_revision, config) => {
    status.invalidate();
    arm(config.system?.reconcile_interval_s);
  });

  const app = await buildServer({
    reconciler,
    store,
    status,
    firewallLog,
    vpn: appliance.vpn,
    bgp: appliance.bgp,
  });
  await app.listen({ host: options.host, port: options.port });

  const socketPath = join(options.stateDir, 'api.sock');
  if (existsSync(socketPath)) unlinkSync(socketPath);
  const unixServer: Server = createServer((req, res) => app.routing(req, res));
  await new Promise<void>((resolve) => unixServer.listen(socketPath, resolve));
  chmodSync(socketPath, 0o600);
  writeFileSync(join(options.stateDir, 'junction.pid'), `${process.pid}\n`);
  log.info('serving', { listen: `${options.host}:${options.port}`, socket: socketPath, revision: store.currentRevisionId() });

  const stop = async (signal: string) => {
    log.info('stopping; the kernel keeps forwarding with the current revision', { signal });
    unixServer.close();
    await app.close();
    await appliance.vpn.close(); // charon is ours: never leave it unsupervised
    await appliance.bgp.close(); // so is bird
    appliance.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
