// `npm run bench -- <name>`: runs one benchmark (design/performance.md), or
// `report` to draw the stored results as SVG charts.
import { reportAll } from './report.js';

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
  report: {
    summary: 'draw bench/results/*.json as bench/results/<name>.svg',
    run: async () => reportAll(),
  },
};

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
  return bench.run();
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
