// `npm run bench -- bgp` (design/performance.md): the on-prem BGP peer
// announces 100,000 prefixes over the Direct Connect link (router dx0 <->
// onprem dx0, 169.254.10.0/30); we time how long until all of them are in
// the router namespace's kernel table (install_s) and how long until they are
// all gone again after the withdrawal (withdraw_s).
//
// Legs, each in its own lab (Lab.up({onprem: true})), all up at the same time:
//
//   hand       baseline: a plain bird in the router namespace with a minimal
//              hand-written config (device, kernel export, one BGP session).
//   rendered   a plain bird in the router namespace running the bird.conf
//              that appliance/subsystems/bgp/render.ts makes from the bgp section below
//              (the config Junction would run, without Junction around it).
//   appliance  the real `junction serve` in the router namespace, with dx0
//              and the bgp section committed through the API (PUT
//              /v1/config); Junction starts and configures its own bird.
//              Only when Junction's BGP subsystem is in the build
//              (dist/appliance/subsystems/bgp/index.js).
//
// The on-prem bird of every lab has the same hand-written config: a static
// protocol holding the 100,000 prefixes (/27s inside 10.64.0.0/10: a /10 only
// has 16,384 /24s, and nothing of the lab lives in 10.64.0.0/10), `disabled`
// at start. Announce = `enable "bench_static"` over its control socket,
// withdraw = `disable "bench_static"`. The clock starts when that command is
// sent.
//
// Counting 100k kernel routes cheaply: the kernel's per-namespace FIB trie
// statistics, /proc/<pid>/net/fib_triestat, read from the root namespace for
// a pid that lives in the router namespace (an anchor `sleep` the lab
// spawned there). Its "Prefixes" figure counts routes (fib aliases) of the
// main table; we poll it every POLL_MS and compare with the count before the
// announcement. It is a read of a tiny proc file, no process is started and
// nothing goes near the lab's links; its cost is measured and reported. After
// each install the count is checked once against
// `ip -4 -o route show table main proto bird` inside the namespace (also
// timed, to show why that is not the poller).
//
// Runs are interleaved (rotating leg order per round) and figures are medians.
//
// Safety: BGP runs between lab namespaces only (Lab.spawn / Lab.exec check
// that they exist); every wait is bounded; a watchdog ends the whole thing;
// the birds, the anchors and Junction are processes the lab spawned and
// tracks by pid, and every lab (namespaces included) is taken down in
// `finally`, on SIGINT/SIGTERM and by the watchdog.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BirdApplier } from '../../appliance/subsystems/bgp/bird-config.js';
import { BirdSocket } from '../../appliance/subsystems/bgp/bird-socket.js';
import { vpcSubnetsOf } from '../../appliance/subsystems/bgp/render.js';
import { renderBirdConfig } from '../../appliance/subsystems/bgp/render.js';
import type { BgpSection } from '../../appliance/subsystems/bgp/schema.js';
import { apiRequest, targetFromStateDir, type ApiTarget } from '../../appliance/main/api-client.js';
import { labStateDir, waitForApi } from '../lab-kit/command.js';
import type { Config } from '../../appliance/model/schema.js';
import { SystemCommandRunner } from '../../appliance/platform/command-runner.js';
import { Lab, type LabProcess } from '../lab-kit/lab.js';
import { addressing } from '../lab-kit/topology.js';
import { REPO_ROOT, emitResult, median, printTable, round, type Figure } from './report.js';
import { guardBenchmark, tearDownLabs } from './guards.js';
import { sleep } from '../../appliance/platform/sleep.js';

/** BENCH_BGP_PREFIXES overrides (for a quick try), 1..131072 */
const PREFIXES = Math.min(Math.max(Number(process.env.BENCH_BGP_PREFIXES) || 100_000, 1), 131_072);
const FULL_SCALE = PREFIXES === 100_000;
const ROUNDS = Math.min(Math.max(Number(process.env.BENCH_BGP_ROUNDS) || 5, 1), 15);
/**
 * BENCH_BGP_POLL_MS overrides, 10..1000. 20 ms: an install takes 0.35-0.5 s
 * on a quiet machine, and with 100 ms polls one poll step (0.36 against
 * 0.46 s, in either leg) decided the ratio; a poll costs about 3 ms.
 */
const POLL_MS = Math.min(Math.max(Number(process.env.BENCH_BGP_POLL_MS) || 20, 10), 1000);
const RANGE = '10.64.0.0/10';
const RANGE_BASE = (10 << 24) | (64 << 16); // 10.64.0.0
const PREFIX_LEN = 27;
const STATIC_NAME = 'bench_static';
const ONPREM_SESSION = 'junction';
const LOCAL_ASN = 64512;
const ONPREM_ASN = 65000;
const TARGET_INSTALL_S = 10;
const TARGET_WITHDRAW_S = 10;
const TARGET_RATIO = 1.2;
const RUN_TIMEOUT_MS = 120_000;
const ESTABLISHED_TIMEOUT_MS = 60_000;
const WATCHDOG_MS = 20 * 60_000;
const DX_ROUTER = addressing.onprem.dxRouter;
const DX_ONPREM = addressing.onprem.dxOnprem;

const log = (message: string) => process.stderr.write(`[bgp] ${message}\n`);
const now = () => process.hrtime.bigint();
const since = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;

type LegName = 'hand' | 'rendered' | 'appliance';

// ------------------------------------------------------------ configs

function prefixAt(i: number): string {
  const n = RANGE_BASE + i * 2 ** (32 - PREFIX_LEN);
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/${PREFIX_LEN}`;
}

/** The on-prem router: the prefixes in a static protocol that starts disabled, one eBGP session to the router. */
function onpremConfig(): string {
  const routes: string[] = [];
  for (let i = 0; i < PREFIXES; i++) routes.push(`  route ${prefixAt(i)} blackhole;`);
  return [
    '# on-prem router of the bgp benchmark (hand-written)',
    `router id ${DX_ONPREM};`,
    'log stderr { warning, error, fatal, bug };',
    'protocol device {}',
    `protocol static ${STATIC_NAME} {`,
    '  disabled;  # announce = enable, withdraw = disable',
    '  ipv4;',
    ...routes,
    '}',
    `protocol bgp ${ONPREM_SESSION} {`,
    `  local ${DX_ONPREM} as ${ONPREM_ASN};`,
    `  neighbor ${DX_ROUTER} as ${LOCAL_ASN};`,
    '  direct;',
    '  error wait time 1, 5;',
    `  ipv4 { import none; export where proto = "${STATIC_NAME}"; };`,
    '}',
    '',
  ].join('\n');
}

/** The baseline: the least a person would write to put BGP routes into the kernel. */
function handConfig(): string {
  return [
    '# hand-written baseline of the bgp benchmark',
    `router id ${DX_ROUTER};`,
    'log stderr { warning, error, fatal, bug };',
    'protocol device {}',
    'protocol kernel { ipv4 { export all; }; }',
    'protocol bgp onprem {',
    `  local ${DX_ROUTER} as ${LOCAL_ASN};`,
    `  neighbor ${DX_ONPREM} as ${ONPREM_ASN};`,
    '  direct;',
    '  ipv4 { import all; export none; };',
    '}',
    '',
  ].join('\n');
}

/** Junction's bgp section: the on-prem neighbor on dx0, the benchmark range accepted, max-prefix above it. */
function bgpSection(): BgpSection {
  return {
    asn: LOCAL_ASN,
    router_id: DX_ROUTER,
    neighbors: [
      {
        id: 'onprem',
        address: DX_ONPREM,
        remote_asn: ONPREM_ASN,
        interface: 'dx0',
        import: { prefixes: [{ prefix: RANGE, le: PREFIX_LEN }] },
        max_prefix: { limit: 150_000, action: 'block' },
      },
    ],
  };
}

function applianceDocument(): Config {
  return {
    interfaces: [
      { name: 'ccnn0', role: 'ccnn', zone: 'ccnn', addresses: [`${addressing.ccnn.router}/24`] },
      { name: 'vpc0', role: 'vpc', zone: 'vpc-a', addresses: [`${addressing.vpcs.a.gateway}/24`] },
      { name: 'vpc1', role: 'vpc', zone: 'vpc-b', addresses: [`${addressing.vpcs.b.gateway}/24`] },
      { name: 'dx0', role: 'dx', zone: 'dx', addresses: [`${DX_ROUTER}/30`] },
    ],
    zones: [{ name: 'ccnn' }, { name: 'vpc-a' }, { name: 'vpc-b' }, { name: 'dx' }],
    routes: { static: [{ id: 'default', destination: '0.0.0.0/0', via: addressing.ccnn.gateway }] },
    bgp: bgpSection(),
  } as Config;
}

// ------------------------------------------------------------ kernel route counting

/** Routes in the main table of the namespace `pid` lives in (fib_triestat "Prefixes" under "Main:"). */
function mainTableRoutes(pid: number): number {
  const text = readFileSync(`/proc/${pid}/net/fib_triestat`, 'utf8');
  const main = text.indexOf('Main:');
  if (main < 0) throw new Error(`no "Main:" table in /proc/${pid}/net/fib_triestat`);
  const m = /Prefixes:\s+(\d+)/.exec(text.slice(main));
  if (!m) throw new Error(`no "Prefixes:" for the main table in /proc/${pid}/net/fib_triestat`);
  return Number(m[1]);
}

/** The check: `ip -4 -o route show table main proto bird` inside the namespace, lines counted there. */
async function birdRoutesByIp(lab: Lab): Promise<{ count: number; seconds: number }> {
  const t = now();
  const r = await lab.exec('router', ['sh', '-c', 'ip -4 -o route show table main proto bird | wc -l'], { timeoutMs: 60_000, check: true });
  return { count: Number(r.stdout.trim()), seconds: since(t) };
}

// ------------------------------------------------------------ birds

interface BirdHandle {
  process: LabProcess;
  socketPath: string;
  configFile: string;
  logFile: string;
}

async function connectWhenReady(socketPath: string, proc: LabProcess, logFile: string, timeoutMs = 60_000): Promise<BirdSocket> {
  const deadline = Date.now() + timeoutMs;
  let exited: number | undefined;
  void proc.exited.then((code) => (exited = code));
  let last: unknown;
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`bird exited ${exited} while starting: ${tail(logFile)}`);
    if (existsSync(socketPath)) {
      try {
        return await BirdSocket.connect(socketPath, { timeoutMs: 60_000 });
      } catch (e) {
        last = e;
      }
    }
    await sleep(50);
  }
  throw new Error(`bird socket ${socketPath} not ready after ${timeoutMs} ms: ${String(last)}; ${tail(logFile)}`);
}

function tail(file: string, lines = 10): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join(' | ');
  } catch {
    return '(no log)';
  }
}

/** Starts bird -f in a lab namespace (the lab tracks the pid and ends it on down()). */
function spawnBird(lab: Lab, role: 'router' | 'onprem', dir: string, config: string): BirdHandle {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const configFile = join(dir, 'bird.conf');
  const socketPath = join(dir, 'bird.ctl');
  const logFile = join(dir, 'bird.log');
  writeFileSync(configFile, config, { mode: 0o600 });
  rmSync(socketPath, { force: true });
  const proc = lab.spawn(role, ['bird', '-f', '-c', configFile, '-s', socketPath, '-P', join(dir, 'bird.pid')], { logFile });
  return { process: proc, socketPath, configFile, logFile };
}

async function sessionState(onprem: BirdSocket): Promise<string> {
  const reply = await onprem.command(`show protocols "${ONPREM_SESSION}"`);
  const row = reply.lines.find((l) => l.text.trim().startsWith(ONPREM_SESSION));
  return row?.text.trim() ?? '';
}

async function waitEstablished(onprem: BirdSocket, what: string, timeoutMs = ESTABLISHED_TIMEOUT_MS): Promise<number> {
  const t = now();
  const deadline = Date.now() + timeoutMs;
  let row = '';
  while (Date.now() < deadline) {
    row = await sessionState(onprem);
    if (/\bEstablished\b/.test(row)) return since(t);
    await sleep(100);
  }
  throw new Error(`${what}: the on-prem session is not Established after ${timeoutMs / 1000} s: "${row}"`);
}

// ------------------------------------------------------------ one leg

interface Leg {
  name: LegName;
  lab: Lab;
  /** a process in the router namespace, for /proc/<pid>/net */
  anchor: LabProcess;
  onprem: BirdSocket;
  onpremBird: BirdHandle;
  routerBird?: BirdHandle;
  routerControl?: BirdSocket;
  api?: ApiTarget;
  junction?: LabProcess;
  /** main-table routes before any announcement */
  base: number;
  setup: Record<string, number | string | boolean | null>;
}

interface Run {
  leg: LegName;
  /** 0 = the warm-up (first announcement into a freshly started bird), not in the medians */
  round: number;
  install_s: number | null;
  first_s: number | null;
  withdraw_s: number | null;
  /** prefixes/s between the first and the last route seen */
  install_rate: number | null;
  withdraw_rate: number | null;
  polls: number;
  poll_ms_mean: number;
  poll_ms_max: number;
  ip_check_count: number | null;
  ip_check_s: number | null;
  error?: string;
}

/** Polls the route count until `done(count)`; returns seconds from t0 to the first and the last change seen. */
async function pollUntil(leg: Leg, t0: bigint, done: (count: number) => boolean, started: (count: number) => boolean, pollStats: number[]): Promise<{ doneS: number; firstS: number | null; count: number }> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  let firstS: number | null = null;
  let count = NaN;
  for (;;) {
    const p = now();
    count = mainTableRoutes(leg.anchor.pid);
    const seen = since(t0);
    pollStats.push(since(p) * 1000);
    if (firstS === null && started(count)) firstS = seen;
    if (done(count)) return { doneS: seen, firstS, count };
    if (Date.now() > deadline) throw new Error(`${leg.name}: ${count - leg.base} of ${PREFIXES} routes after ${RUN_TIMEOUT_MS / 1000} s`);
    await sleep(POLL_MS);
  }
}

async function runOnce(leg: Leg, round: number, afterInstall?: () => Promise<void>): Promise<Run> {
  const run: Run = { leg: leg.name, round, install_s: null, first_s: null, withdraw_s: null, install_rate: null, withdraw_rate: null, polls: 0, poll_ms_mean: 0, poll_ms_max: 0, ip_check_count: null, ip_check_s: null };
  const pollStats: number[] = [];
  try {
    const before = mainTableRoutes(leg.anchor.pid);
    if (before !== leg.base) throw new Error(`${leg.name}: ${before} main-table routes before the announcement, expected ${leg.base}`);
    await waitEstablished(leg.onprem, `${leg.name} round ${round}`, 10_000);
    // announce
    const t0 = now();
    await leg.onprem.command(`enable "${STATIC_NAME}"`);
    const target = leg.base + PREFIXES;
    const inst = await pollUntil(leg, t0, (c) => c >= target, (c) => c > leg.base, pollStats);
    run.install_s = inst.doneS;
    run.first_s = inst.firstS;
    if (inst.firstS !== null && inst.doneS > inst.firstS) run.install_rate = PREFIXES / (inst.doneS - inst.firstS);
    if (inst.count !== target) throw new Error(`${leg.name}: ${inst.count - leg.base} routes installed, expected exactly ${PREFIXES}`);
    const check = await birdRoutesByIp(leg.lab);
    run.ip_check_count = check.count;
    run.ip_check_s = check.seconds;
    if (check.count !== PREFIXES) throw new Error(`${leg.name}: ip route shows ${check.count} proto bird routes, expected ${PREFIXES}`);
    await afterInstall?.();
    await sleep(1000);
    // withdraw
    const t1 = now();
    await leg.onprem.command(`disable "${STATIC_NAME}"`);
    const wd = await pollUntil(leg, t1, (c) => c <= leg.base, (c) => c < target, pollStats);
    run.withdraw_s = wd.doneS;
    if (wd.firstS !== null && wd.doneS > wd.firstS) run.withdraw_rate = PREFIXES / (wd.doneS - wd.firstS);
    await sleep(1000);
  } catch (error) {
    run.error = (error as Error).message;
    log(`${leg.name} round ${round} failed: ${run.error}`);
    // leave the on-prem side withdrawn for the next round
    await leg.onprem.command(`disable "${STATIC_NAME}"`).catch(() => undefined);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && mainTableRoutes(leg.anchor.pid) > leg.base) await sleep(200);
  }
  run.polls = pollStats.length;
  run.poll_ms_mean = pollStats.length ? pollStats.reduce((a, b) => a + b, 0) / pollStats.length : 0;
  run.poll_ms_max = pollStats.length ? Math.max(...pollStats) : 0;
  log(`${leg.name.padEnd(9)} round ${round}: install ${run.install_s?.toFixed(3) ?? '-'} s (first route ${run.first_s?.toFixed(3) ?? '-'} s, ${run.install_rate ? Math.round(run.install_rate) : '-'}/s), withdraw ${run.withdraw_s?.toFixed(3) ?? '-'} s; ${run.polls} polls, ${run.poll_ms_mean.toFixed(2)} ms mean, ${run.poll_ms_max.toFixed(2)} ms max; ip check ${run.ip_check_count ?? '-'} routes in ${run.ip_check_s?.toFixed(3) ?? '-'} s`);
  return run;
}

// ------------------------------------------------------------ main

export async function runBgp(): Promise<number> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('the bgp benchmark needs root (network namespaces)\n');
    return 1;
  }
  for (const tool of ['/usr/sbin/bird', '/usr/sbin/birdc']) {
    if (!existsSync(tool)) {
      process.stderr.write(`${tool} is missing (npm run bench runs appliance/scripts/setup.sh, which installs bird2)\n`);
      return 1;
    }
  }
  if (!existsSync('/proc/self/net/fib_triestat')) {
    process.stderr.write('/proc/net/fib_triestat is missing: cannot count kernel routes cheaply\n');
    return 1;
  }
  const cli = join(REPO_ROOT, 'dist', 'appliance', 'cli.js');
  const driverBuilt = existsSync(join(REPO_ROOT, 'dist', 'appliance', 'subsystems', 'bgp', 'index.js'));
  const withAppliance = existsSync(cli) && driverBuilt && process.env.BENCH_BGP_APPLIANCE !== '0';

  const base = `jg${process.pid}`;
  const prefixes: Record<LegName, string> = { hand: `${base}h`, rendered: `${base}r`, appliance: `${base}a` };
  const stateRoot = mkdtempSync(join(tmpdir(), 'junction-bench-bgp-'));
  const junctionState = labStateDir(prefixes.appliance);
  const labs: Lab[] = [];
  const sockets: BirdSocket[] = [];
  const runner = new SystemCommandRunner();

  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const s of sockets) s.close();
      // Lab.down() ends the processes the lab spawned (birds, anchors, Junction and its bird) by pid, then the namespaces
      await tearDownLabs(labs, Object.values(prefixes), log);
      if (process.env.BENCH_BGP_KEEP_LOGS) log(`bird logs kept in ${stateRoot}`);
      else rmSync(stateRoot, { recursive: true, force: true });
      rmSync(junctionState, { recursive: true, force: true });
    })());
  const guard = guardBenchmark(cleanup, log, WATCHDOG_MS);

  const started = new Date();
  const git = (args: string[]) => runner.run('git', ['-C', REPO_ROOT, ...args]).then((r) => r.stdout.trim(), () => '');
  const gitHead = await git(['rev-parse', '--short', 'HEAD']);
  // what the rendered leg (tsx, working tree) and the appliance leg (dist/) ran may differ from HEAD
  const dirtyBgp = (await git(['status', '--porcelain', '--', 'appliance/subsystems/bgp', 'api/plugins/bgp.ts', 'appliance/main/appliance.ts'])).split('\n').filter(Boolean).map((l) => l.trim());
  const load = loadavg().map((l) => round(l, 2));
  const onpremText = onpremConfig();

  /** A lab with its anchor and on-prem bird (the router side is up to the leg). */
  const labWithOnprem = async (name: LegName, plainRouting: boolean): Promise<Omit<Leg, 'base' | 'setup'> & { onpremStartS: number }> => {
    log(`lab ${prefixes[name]} (${name})`);
    const lab = await Lab.up({ prefix: prefixes[name], plainRouting, onprem: true });
    labs.push(lab);
    const anchor = lab.spawn('router', ['sleep', String(Math.ceil(WATCHDOG_MS / 1000) + 60)]);
    const t = now();
    const onpremBird = spawnBird(lab, 'onprem', join(stateRoot, `${name}-onprem`), onpremText);
    const onprem = await connectWhenReady(onpremBird.socketPath, onpremBird.process, onpremBird.logFile);
    sockets.push(onprem);
    return { name, lab, anchor, onprem, onpremBird, onpremStartS: since(t) };
  };

  try {
    const legs: Leg[] = [];

    // ---- hand ----
    {
      const l = await labWithOnprem('hand', true);
      const routerBird = spawnBird(l.lab, 'router', join(stateRoot, 'hand-router'), handConfig());
      const routerControl = await connectWhenReady(routerBird.socketPath, routerBird.process, routerBird.logFile);
      sockets.push(routerControl);
      const establishedS = await waitEstablished(l.onprem, 'hand');
      legs.push({ ...l, routerBird, routerControl, base: mainTableRoutes(l.anchor.pid), setup: { onprem_bird_start_s: round(l.onpremStartS, 3), established_s: round(establishedS, 3) } });
    }

    // ---- rendered ----
    {
      const l = await labWithOnprem('rendered', true);
      const dir = join(stateRoot, 'rendered-router');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const text = renderBirdConfig({ section: bgpSection(), vpcSubnets: vpcSubnetsOf(applianceDocument()) });
      // checked with `bird -p` as Junction does before it runs a file
      await new BirdApplier({ runner, bird: { command: () => Promise.reject(new Error('not running')) }, configFile: join(dir, 'bird.conf') }).install(text);
      const routerBird = spawnBird(l.lab, 'router', dir, text);
      const routerControl = await connectWhenReady(routerBird.socketPath, routerBird.process, routerBird.logFile);
      sockets.push(routerControl);
      const establishedS = await waitEstablished(l.onprem, 'rendered');
      legs.push({ ...l, routerBird, routerControl, base: mainTableRoutes(l.anchor.pid), setup: { onprem_bird_start_s: round(l.onpremStartS, 3), established_s: round(establishedS, 3), config_lines: text.split('\n').length } });
    }

    // ---- appliance ----
    let applianceError: string | null = null;
    let applianceWorkaround: string | null = null;
    if (!withAppliance) {
      applianceError = !driverBuilt
        ? "Junction's BGP subsystem is not in the build (dist/appliance/subsystems/bgp/index.js missing: build first)"
        : existsSync(cli) ? 'disabled by BENCH_BGP_APPLIANCE=0' : `${cli} is missing; build first`;
      log(`appliance leg skipped: ${applianceError}`);
    } else {
      try {
        const l = await labWithOnprem('appliance', false);
        rmSync(junctionState, { recursive: true, force: true });
        mkdirSync(junctionState, { recursive: true, mode: 0o700 });
        const junction = l.lab.spawn('router', [process.execPath, cli, 'serve', '--state-dir', junctionState, '--listen', '127.0.0.1:8080'], { logFile: join(junctionState, 'junction.log') });
        const exitedEarly = junction.exited.then((code) => {
          throw new Error(`Junction exited ${code} while starting; see ${join(junctionState, 'junction.log')}`);
        });
        exitedEarly.catch(() => undefined);
        await Promise.race([waitForApi(junctionState, 30_000), exitedEarly]);
        const api = targetFromStateDir(junctionState);
        const put = () => apiRequest(api, 'PUT', `/v1/config?comment=${encodeURIComponent('bench bgp: dx0 + on-prem neighbor')}`, JSON.stringify(applianceDocument()), { contentType: 'application/json', timeoutMs: 120_000 });
        let t = now();
        let response = await put();
        if (response.status !== 200 && /ENOENT[^"]*bird\/bird\.conf\.check/.test(response.text)) {
          // Driver bug seen here: the first bgp commit in a fresh state dir runs
          // `bird -p` on <state>/bird/bird.conf.check-* before anything created
          // <state>/bird. Create the directory and commit again; recorded in the result.
          applianceWorkaround = `pre-created ${join(junctionState, 'bird')}: the first commit failed (${response.status}: ${response.text.slice(0, 200)})`;
          log(`appliance: ${applianceWorkaround}`);
          mkdirSync(join(junctionState, 'bird'), { recursive: true, mode: 0o700 });
          t = now();
          response = await put();
        }
        const commitS = since(t);
        if (response.status !== 200) throw new Error(`PUT /v1/config answered ${response.status}: ${response.text.slice(0, 1000)}`);
        const establishedS = await waitEstablished(l.onprem, 'appliance');
        log(`appliance: committed in ${commitS.toFixed(3)} s, Established ${establishedS.toFixed(3)} s later`);
        legs.push({ ...l, api, junction, base: mainTableRoutes(l.anchor.pid), setup: { onprem_bird_start_s: round(l.onpremStartS, 3), commit_s: round(commitS, 3), established_after_commit_s: round(establishedS, 3) } });
      } catch (error) {
        applianceError = (error as Error).message;
        log(`appliance leg failed: ${applianceError}`);
        if (existsSync(join(junctionState, 'junction.log'))) log(`junction.log (tail):\n${readFileSync(join(junctionState, 'junction.log'), 'utf8').split('\n').slice(-20).join('\n')}`);
      }
    }

    // ---- interleaved rounds ----
    const runs: Run[] = [];
    // warm-up: the first announcement into each freshly started bird (memory
    // for 100k routes is allocated then); reported apart as cold_*, not in the medians
    const apiCheck: Record<string, unknown> = {};
    for (const leg of legs) {
      runs.push(await runOnce(leg, 0, leg.api ? async () => {
        const r = await apiRequest<{ neighbors?: Array<{ id: string; state: string; prefixes?: Record<string, number> }> }>(leg.api!, 'GET', '/v1/bgp/status', undefined, { timeoutMs: 30_000 });
        const n = r.body?.neighbors?.find((x) => x.id === 'onprem');
        Object.assign(apiCheck, { status: r.status, state: n?.state ?? null, prefixes: n?.prefixes ?? null });
        log(`appliance: GET /v1/bgp/status with the routes installed: ${r.status} ${JSON.stringify(apiCheck)}`);
      } : undefined));
    }
    for (let r = 0; r < ROUNDS; r++) {
      const order = [...legs.slice(r % legs.length), ...legs.slice(0, r % legs.length)];
      for (const leg of order) runs.push(await runOnce(leg, r + 1));
    }

    // one ip-based count at 0 routes too, for the poll-cost comparison
    const ipEmpty = await birdRoutesByIp(legs[0]!.lab);
    // ---- figures ----
    const ok = (leg: LegName) => runs.filter((x) => x.leg === leg && x.round > 0 && !x.error);
    const cold = (leg: LegName) => runs.find((x) => x.leg === leg && x.round === 0 && !x.error) ?? null;
    const med = (leg: LegName, key: 'install_s' | 'withdraw_s' | 'first_s' | 'install_rate' | 'withdraw_rate') => {
      const v = ok(leg).map((x) => x[key]).filter((x): x is number => x !== null);
      return v.length ? median(v) : null;
    };
    const hasLeg = (leg: LegName) => legs.some((l) => l.name === leg);
    const junctionLeg: LegName = hasLeg('appliance') ? 'appliance' : 'rendered';
    const junctionLabel = junctionLeg === 'appliance' ? 'appliance' : 'rendered-config';
    const installS = med(junctionLeg, 'install_s');
    const withdrawS = med(junctionLeg, 'withdraw_s');
    const handInstall = med('hand', 'install_s');
    const handWithdraw = med('hand', 'withdraw_s');
    const ratio = installS !== null && handInstall ? installS / handInstall : null;
    const withdrawRatio = withdrawS !== null && handWithdraw ? withdrawS / handWithdraw : null;
    const renderedInstall = med('rendered', 'install_s');
    const failures = runs.filter((x) => x.error);
    const allPolls = runs.filter((x) => x.polls > 0);
    const pollMean = allPolls.length ? allPolls.reduce((a, x) => a + x.poll_ms_mean * x.polls, 0) / allPolls.reduce((a, x) => a + x.polls, 0) : 0;
    const pollMax = allPolls.length ? Math.max(...allPolls.map((x) => x.poll_ms_max)) : 0;
    const ipChecks = runs.map((x) => x.ip_check_s).filter((x): x is number => x !== null);
    const ipCheckMedian = ipChecks.length ? median(ipChecks) : null;
    const pass = FULL_SCALE && installS !== null && withdrawS !== null && ratio !== null
      && installS < TARGET_INSTALL_S && withdrawS < TARGET_WITHDRAW_S && ratio <= TARGET_RATIO
      && ok(junctionLeg).length === ROUNDS && ok('hand').length === ROUNDS;

    const fmt = (v: number | null, d = 3) => (v === null ? null : round(v, d));
    const spread = (leg: LegName, key: 'install_s' | 'withdraw_s') => {
      const v = ok(leg).map((x) => x[key]).filter((x): x is number => x !== null);
      return v.length ? `${Math.min(...v).toFixed(2)}-${Math.max(...v).toFixed(2)}` : null;
    };
    const rows: Figure[][] = [['leg', 'install s', 'min-max', 'first route s', 'install /s', 'withdraw s', 'min-max', 'withdraw /s', 'ok runs', 'install vs hand', 'cold install s']];
    for (const leg of legs) {
      const inst = med(leg.name, 'install_s');
      rows.push([
        leg.name === 'rendered' ? 'rendered (render.ts conf, plain bird)' : leg.name === 'appliance' ? 'appliance (junction serve)' : 'hand (hand-written conf)',
        fmt(inst), spread(leg.name, 'install_s'), fmt(med(leg.name, 'first_s')),
        med(leg.name, 'install_rate') === null ? null : Math.round(med(leg.name, 'install_rate')!),
        fmt(med(leg.name, 'withdraw_s')), spread(leg.name, 'withdraw_s'),
        med(leg.name, 'withdraw_rate') === null ? null : Math.round(med(leg.name, 'withdraw_rate')!),
        `${ok(leg.name).length}/${ROUNDS}`,
        leg.name === 'hand' || inst === null || !handInstall ? null : round(inst / handInstall, 3),
        fmt(cold(leg.name)?.install_s ?? null),
      ]);
    }
    printTable(`bgp: ${PREFIXES.toLocaleString('en-US')} /${PREFIX_LEN}s in ${RANGE} announced by the on-prem bird over dx0; medians of ${ROUNDS} interleaved rounds`, rows);
    printTable('bgp: summary', [
      ['figure', 'value'],
      ['junction leg', junctionLabel + (applianceError && junctionLeg !== 'appliance' ? ` (appliance not measured: ${applianceError.slice(0, 120)})` : '')],
      ['install_s (junction leg, median)', fmt(installS)],
      ['withdraw_s (junction leg, median)', fmt(withdrawS)],
      ['ratio_vs_hand (install)', fmt(ratio)],
      ['withdraw ratio vs hand', fmt(withdrawRatio)],
      ...(junctionLeg === 'appliance' && renderedInstall !== null && installS !== null ? [['appliance install / rendered-config install', round(installS / renderedInstall, 3)] as Figure[]] : []),
      [`route-count poll: /proc/<pid>/net/fib_triestat every ${POLL_MS} ms, cost per read (ms, mean / max)`, `${pollMean.toFixed(2)} / ${pollMax.toFixed(2)}`],
      [`'ip -4 -o route show table main proto bird | wc -l' in the ns (s, at ${PREFIXES} / at 0 routes)`, `${ipCheckMedian?.toFixed(3) ?? '-'} / ${ipEmpty.seconds.toFixed(3)}`],
      ['failed runs', failures.length ? failures.map((f) => `${f.leg}#${f.round}: ${f.error}`).join('; ').slice(0, 300) : 0],
      [`targets: install_s < ${TARGET_INSTALL_S}, withdraw_s < ${TARGET_WITHDRAW_S}, ratio_vs_hand <= ${TARGET_RATIO}${FULL_SCALE ? '' : ' (not judged: not 100k prefixes)'}`, pass ? 'pass' : 'FAIL'],
    ]);

    guard.release();
    await cleanup();
    emitResult({
      bench: 'bgp',
      date: started.toISOString(),
      junction_leg: junctionLabel,
      prefixes: PREFIXES,
      install_s: fmt(installS),
      withdraw_s: fmt(withdrawS),
      ratio_vs_hand: fmt(ratio),
      hand_install_s: fmt(handInstall),
      hand_withdraw_s: fmt(handWithdraw),
      rendered_install_s: fmt(renderedInstall),
      rendered_withdraw_s: fmt(med('rendered', 'withdraw_s')),
      appliance_install_s: fmt(med('appliance', 'install_s')),
      appliance_withdraw_s: fmt(med('appliance', 'withdraw_s')),
      withdraw_ratio_vs_hand: fmt(withdrawRatio),
      cold_install_s: fmt(cold(junctionLeg)?.install_s ?? null),
      hand_cold_install_s: fmt(cold('hand')?.install_s ?? null),
      install_rate_per_s: med(junctionLeg, 'install_rate') === null ? null : Math.round(med(junctionLeg, 'install_rate')!),
      hand_install_rate_per_s: med('hand', 'install_rate') === null ? null : Math.round(med('hand', 'install_rate')!),
      poll_ms: POLL_MS,
      poll_cost_mean_ms: round(pollMean, 3),
      poll_cost_max_ms: round(pollMax, 3),
      ip_route_count_s: fmt(ipCheckMedian),
      appliance_error: applianceError,
      appliance_workaround: applianceWorkaround,
      failed_runs: failures.length,
      definitions: {
        install_s: `median over rounds, junction leg (${junctionLabel}): from sending \`enable "${STATIC_NAME}"\` to the on-prem bird until the router namespace main table holds all ${PREFIXES} routes (fib_triestat count = before + ${PREFIXES}, then checked against ip route ... proto bird)`,
        withdraw_s: `median: from \`disable "${STATIC_NAME}"\` until the main table is back to its count before the announcement`,
        ratio_vs_hand: 'install_s / hand_install_s (plain bird with a minimal hand-written config in the router namespace of its own lab)',
        junction_leg: '"appliance": junction serve with the bgp section committed through the API; "rendered-config": the bird.conf render.ts makes from the same section, in a plain bird (the appliance\'s BGP driver was not available)',
        cold_install_s: 'install time of the warm-up round: the first announcement into a freshly started bird (not in the medians)',
        install_rate_per_s: 'prefixes / (install_s - time of the first route seen): the steady kernel install rate',
        poll_cost: 'wall time of one read of /proc/<pid in the router ns>/net/fib_triestat from this process',
        ip_route_count_s: `median wall time of 'ip netns exec ... sh -c "ip -4 -o route show table main proto bird | wc -l"' with ${PREFIXES} routes installed`,
      },
      details: {
        git_head: gitHead,
        uncommitted_bgp_sources: dirtyBgp,
        range: RANGE,
        prefix_length: PREFIX_LEN,
        rounds: ROUNDS,
        onprem_config: 'static protocol (disabled at start) + eBGP session, export where proto = static',
        hand_config: handConfig(),
        bgp_section: bgpSection(),
        setup: Object.fromEntries(legs.map((l) => [l.name, l.setup])),
        appliance_api_status_with_routes: Object.keys(apiCheck).length ? apiCheck : null,
        base_routes: Object.fromEntries(legs.map((l) => [l.name, l.base])),
        ip_route_count_at_0_s: round(ipEmpty.seconds, 3),
        cpus: cpus().length,
        kernel: release(),
        loadavg_at_start: load,
        loadavg_at_end: loadavg().map((l) => round(l, 2)),
        runs: runs.map((x) => ({
          ...x,
          install_s: fmt(x.install_s), first_s: fmt(x.first_s), withdraw_s: fmt(x.withdraw_s),
          install_rate: x.install_rate === null ? null : Math.round(x.install_rate), withdraw_rate: x.withdraw_rate === null ? null : Math.round(x.withdraw_rate),
          poll_ms_mean: round(x.poll_ms_mean, 3), poll_ms_max: round(x.poll_ms_max, 3), ip_check_s: fmt(x.ip_check_s),
        })),
      },
      targets: { install_s: { max: TARGET_INSTALL_S }, withdraw_s: { max: TARGET_WITHDRAW_S }, ratio_vs_hand: { max: TARGET_RATIO } },
      pass,
    });
    return 0;
  } catch (error) {
    log(`could not run: ${(error as Error)?.stack ?? String(error)}`);
    if (existsSync(join(junctionState, 'junction.log'))) {
      log(`junction.log (tail):\n${readFileSync(join(junctionState, 'junction.log'), 'utf8').split('\n').slice(-15).join('\n')}`);
    }
    return 1;
  } finally {
    guard.release();
    await cleanup();
  }
}
