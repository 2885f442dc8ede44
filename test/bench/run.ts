// `npm run bench -- <name>`: runs one benchmark (design/performance.md),
// `all` to run every one in turn (each in a process of its own), or `report`
// to draw the stored results as SVG charts.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { reportAll, startRun } from './report.js';

const BENCHES: Record<string, { summary: string; run: () => Promise<number> }> = {
  forward: {
    summary: 'TCP throughput VPC host -> internet through Junction (NAT, stateful policy, 10k rules) vs plain routing',
    run: async () => (await import('./forward.js')).runForward(),
  },
  ipsec: {
    summary: 'TCP throughput VPC host -> on-prem LAN through an IPsec tunnel (Junction vs stock strongSwan vs plain); IKE setup for 1 and 50 tunnels',
    run: async () => (await import('./ipsec.js')).runIpsec(),
  },
  bgp: {
    summary: 'time until 100k prefixes from the on-prem BGP peer are in the kernel table, and to withdraw them (Junction vs hand-written BIRD)',
    run: async () => (await import('./bgp.js')).runBgp(),
  },
  recovery: {
    summary: 'kill -9 / SIGTERM + start of junction serve with TCP flows through NAT, an IPsec tunnel and a BGP route: API back, reconciled, lost flows, flaps, gaps',
    run: async () => (await import('./recovery.js')).runRecovery(),
  },
  'rules-scale': {
    summary: 'commit of 1k/10k/100k rules through the API, one rule added/deleted at 100k (vs nft -j -f of the same rendering)',
    run: async () => (await import('./rules-scale.js')).runRulesScale(),
  },
  api: {
    summary: 'GET /v1/status and small commits under autocannon at 32 connections (vs an empty fastify route)',
    run: async () => (await import('./api.js')).runApi(),
  },
  all: {
    summary: 'every benchmark above in turn (each under 10 minutes), then report',
    run: async () => runAll(),
  },
  report: {
    summary: 'draw bench/results/*.json as bench/results/<name>.svg (and bench/results/README.md)',
    run: async () => reportAll(),
  },
};

/** The benchmarks `all` runs: every entry that measures something. */
const MEASURING = () => Object.keys(BENCHES).filter((name) => name !== 'all' && name !== 'report');

/** One benchmark in a child process; its last stdout line is its JSON summary (undefined if it could not run). */
function runChild(name: string): Promise<{ code: number; summary?: { pass?: boolean } }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), name], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      process.stdout.write(chunk.toString('utf8').replace(/^\{"bench".*$/gm, '')); // the summary line is repeated below
    });
    const stop = () => child.kill('SIGTERM'); // the benchmark takes its lab down on SIGTERM
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    child.on('close', (code) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      const last = out.trim().split('\n').at(-1) ?? '';
      let summary: { pass?: boolean } | undefined;
      try {
        summary = last.startsWith('{') ? (JSON.parse(last) as { pass?: boolean }) : undefined;
      } catch {
        summary = undefined;
      }
      resolve({ code: code ?? 1, summary });
    });
  });
}

/** `all`: each benchmark in turn, then the charts; the last stdout line sums up. */
async function runAll(): Promise<number> {
  const outcome: Record<string, boolean | 'could not run'> = {};
  const lines: string[] = [];
  for (const name of MEASURING()) {
    process.stderr.write(`\n=== bench ${name} ===\n`);
    const { code, summary } = await runChild(name);
    outcome[name] = code === 0 && summary ? summary.pass === true : 'could not run';
    if (summary) lines.push(JSON.stringify(summary));
  }
  reportAll();
  for (const line of lines) process.stdout.write(line + '\n');
  process.stdout.write(JSON.stringify({ bench: 'all', results: outcome, pass: Object.values(outcome).every((v) => v === true) }) + '\n');
  return Object.values(outcome).some((v) => v === 'could not run') ? 1 : 0;
}

function usage(): string {
  const lines = Object.entries(BENCHES).map(([name, b]) => `  ${name.padEnd(10)} ${b.summary}`);
  return `usage: npm run bench -- <name>\n\n${lines.join('\n')}\n`;
}

async function main(): Promise<number> {
  const name = process.argv[2];
  const bench = name ? BENCHES[name] : undefined;
  if (!bench) {
    process.stderr.write((name ? `unknown benchmark "${name}"\n` : '') + usage());
    return 2;
  }
  // the host's state at the start, for the result's `host` (host-load.ts)
  if (MEASURING().includes(name!)) startRun();
  return bench.run();
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
