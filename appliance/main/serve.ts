// `junction serve`: the appliance process. Checks the machine (the same
// checks as `junction doctor`), opens the store, re-applies the current
// revision (adopting the daemons an earlier Junction left running, so a
// restart changes nothing that matches), then serves the API on TCP (HTTPS
// with --tls-cert/--tls-key or --tls-self-signed, see api/tls.ts) and on a
// root-only Unix socket in the state directory (always plain HTTP). Until a revision is in
// the kernel, forwarding is dropped (fail-closed). A clean stop (SIGTERM,
// SIGINT) leaves the data plane alone: the kernel state and charon, bird,
// dnsmasq, ulogd and the DHCP clients keep running for the next Junction. A full
// stop (--stop-daemons, or SIGUSR2 from `junction down`) stops the daemons
// too.
import { createServer, type Server } from 'node:http';
import { chmodSync, existsSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HelperCommandRunner } from '../platform/helper-command-runner.js';
import { checkMachine } from './requirements.js';
import { createAppliance } from './appliance.js';
import { createLogger } from '../platform/log.js';
import { DhcpClients } from '../subsystems/links/dhcp-client.js';
import { FirewallLog } from '../subsystems/firewall/log-reader.js';
import { failClosedUntilApplied } from '../subsystems/firewall/fail-closed.js';
import { notifySystemd } from './systemd-notify.js';
import { FULL_STOP_SIGNAL } from './lifecycle.js';
import { listenTls, loadTlsFiles, selfSignedTls, TlsSetupError, type TlsMaterial, type TlsOnlyServer } from '../../api/tls.js';

export interface ServeOptions {
  stateDir: string;
  host: string;
  port: number;
  /** SIGTERM/SIGINT stop the daemons too (default: they keep running for the next Junction) */
  stopDaemons?: boolean;
  /** networks that may read GET /metrics without a token */
  metricsAllow?: string[];
  /** how long GET /metrics reuses a reading of the kernel and daemons */
  metricsMaxAgeS?: number;
  /** HTTPS on the TCP listener: from files, or a self-signed certificate kept in the state dir */
  tls?: { certFile: string; keyFile: string } | { selfSigned: true };
}

const DEFAULT_RECONCILE_S = 30;

export async function serve(options: ServeOptions): Promise<void> {
  // The API's modules are the largest part of the startup; they load while
  // the kernel is probed and the daemons are adopted (a restart's downtime).
  const apiModule = import('../../api/server.js');
  const log = createLogger('junction');
  process.on('unhandledRejection', (reason) => log.error('unhandled rejection', { error: String((reason as Error)?.message ?? reason) }));
  // commands start on a thread of their own: forking never stalls the API's requests
  const runner = new HelperCommandRunner();
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
  // Files given by the operator are checked before anything is touched; a
  // self-signed certificate is made after boot, when the addresses it names are up.
  const tlsOrExit = (load: () => TlsMaterial): TlsMaterial => {
    try {
      return load();
    } catch (error) {
      if (!(error instanceof TlsSetupError)) throw error;
      log.error(`cannot serve HTTPS: ${error.message}`);
      process.exit(1);
    }
  };
  const tlsFiles = options.tls && 'certFile' in options.tls ? options.tls : undefined;
  let tls = tlsFiles ? tlsOrExit(() => loadTlsFiles(tlsFiles.certFile, tlsFiles.keyFile, log)) : undefined;
  const dhcpClients = new DhcpClients(options.stateDir, log);
  const firewallLog = new FirewallLog(options.stateDir, log);
  const appliance = createAppliance({ stateDir: options.stateDir, runner, capabilities, log, apiPort: options.port, dhcpClients, firewallLog, metricsMaxAgeS: options.metricsMaxAgeS });
  const { store, reconciler, status } = appliance;
  const failClosed = await failClosedUntilApplied(runner, reconciler, options.port, log);

  const tokenFile = join(options.stateDir, 'api-token');
  if (store.tokenCount() === 0) {
    const { token } = store.createToken('bootstrap', 'admin');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    chmodSync(tokenFile, 0o600);
    log.info('created the bootstrap admin token', { file: tokenFile });
  }

  const arm = (seconds?: number) => reconciler.startPeriodicReconcile(seconds ?? DEFAULT_RECONCILE_S);
  reconciler.onCommitted((_revision, config) => {
    status.invalidate();
    arm(config.system?.reconcile_interval_s);
  });
  // Building the API (schemas, routes) is CPU work; boot mostly waits for
  // programs and daemons: side by side they bring the API back sooner after
  // a restart. Nothing listens before boot is done.
  const buildServer = async (context: Parameters<Awaited<typeof apiModule>['buildServer']>[0]) => (await apiModule).buildServer(context);
  const [boot, app] = await Promise.all([reconciler.boot(), buildServer({
    reconciler,
    store,
    status,
    firewallLog,
    vpn: appliance.vpn,
    bgp: appliance.bgp,
    metrics: { service: appliance.metrics, allow: options.metricsAllow ?? [] },
    dhcp: appliance.dhcp,
  })]);
  log.info('boot', { revision: boot.revision, repaired: Object.keys(boot.repaired), errors: boot.errors });
  await failClosed.afterBoot(boot);
  arm(reconciler.currentConfig()?.system?.reconcile_interval_s);
  if (options.tls && !tls) tls = tlsOrExit(() => selfSignedTls(options.stateDir, options.host, log));
  let tlsServer: TlsOnlyServer | undefined;
  if (tls) {
    await app.ready();
    tlsServer = await listenTls((req, res) => app.routing(req, res), tls, { ...options, log, onCommitted: (renew) => reconciler.onCommitted(renew) });
  } else {
    await app.listen({ host: options.host, port: options.port });
  }

  const socketPath = join(options.stateDir, 'api.sock');
  if (existsSync(socketPath)) unlinkSync(socketPath);
  const unixServer: Server = createServer((req, res) => app.routing(req, res));
  await new Promise<void>((resolve) => unixServer.listen(socketPath, resolve));
  chmodSync(socketPath, 0o600);
  const pidFile = join(options.stateDir, 'junction.pid');
  writeFileSync(pidFile, `${process.pid}\n`);
  // since the process started: what a restart costs the API
  log.info('serving', { listen: `${tls ? 'https' : 'http'}://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`, socket: socketPath, revision: store.currentRevisionId(), startup_s: Math.round(performance.now()) / 1000 });
  const stopNotifying = notifySystemd(async () => (await app.inject({ method: 'GET', url: '/v1/health' })).statusCode === 200);

  let stopping = false;
  const stop = async (signal: string, full: boolean) => {
    if (stopping) return;
    stopping = true;
    if (full) log.info('stopping Junction and its daemons (charon, bird, dnsmasq, ulogd, DHCP clients)', { signal });
    else log.info('stopping; the kernel, charon, bird, dnsmasq, ulogd and the DHCP clients keep running with the current revision', { signal });
    await stopNotifying();
    unixServer.close();
    tlsServer?.close();
    await app.close();
    if (full) {
      await appliance.vpn.close();
      await appliance.bgp.close();
      await appliance.dhcp.close();
      await firewallLog.stop();
      await dhcpClients.stopAll();
    } else {
      await appliance.vpn.detach();
      await appliance.bgp.detach();
      await appliance.dhcp.detach();
      firewallLog.detach();
      dhcpClients.detachAll();
    }
    appliance.close();
    rmSync(pidFile, { force: true });
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM', !!options.stopDaemons));
  process.once('SIGINT', () => void stop('SIGINT', !!options.stopDaemons));
  process.once(FULL_STOP_SIGNAL, () => void stop(FULL_STOP_SIGNAL, true));
}
