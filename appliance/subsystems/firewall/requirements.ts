// What the firewall needs from the machine: nft and the nftables features
// the rules compiler emits (checked by the kernel with a check-only batch),
// ulogd2 with the plugins the log reader loads, and conntrack; and its
// kernel probe (flowtables). Run by platform/doctor.ts.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandRunner } from '../../platform/command-runner.js';
import { firstLine, programRequirement, PROBE_TIMEOUT_MS, type CapabilityProbe, type Requirement, type SubsystemRequirements } from '../../platform/requirements.js';
import { PLUGIN_DIR as ULOGD_PLUGIN_DIR } from './log-reader.js';

/**
 * One of each construct Junction's rulesets use: interval and concatenated
 * sets with per-element counters, verdict maps, named counters, ct state, NFLOG, DNAT, SNAT,
 * masquerade and notrack. `nft -c` has the kernel validate the batch and
 * then discards it, so nothing is ever added.
 */
export const NFT_FEATURE_PROBE = `table inet junction_doctor {
  set hosts { type ipv4_addr . inet_service; flags interval; counter; elements = { 192.0.2.0/24 . 80 } }
  set exact { type ipv4_addr . inet_proto . inet_service; counter; elements = { 192.0.2.1 . tcp . 80 } }
  map zones { type ifname : verdict; elements = { "lo" : accept } }
  counter default_hits { }
  chain forward { type filter hook forward priority 0; policy accept; ct state established,related accept; ct state invalid drop; iifname vmap @zones; ip daddr . meta l4proto . th dport @exact drop; ip daddr . tcp dport @hosts log prefix "probe" group 3 accept; counter name "default_hits" drop; }
  chain prerouting { type nat hook prerouting priority -100; tcp dport 8080 dnat ip to 192.0.2.1:80; }
  chain postrouting { type nat hook postrouting priority 100; oifname "lo" masquerade; ip saddr 192.0.2.0/24 snat ip to 192.0.2.1; }
  chain raw { type filter hook prerouting priority -300; udp dport 4500 notrack; }
}
`;

/** nft cannot read a batch from a socket-backed stdin, so each check-only batch goes through a temp file. */
async function nftCheck(runner: CommandRunner, name: string, batch: string, json: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'junction-probe-'));
  try {
    const file = join(dir, name);
    writeFileSync(file, batch);
    return await runner.run('nft', ['-c', ...(json ? ['-j'] : []), '-f', file], { timeoutMs: PROBE_TIMEOUT_MS });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const nftFeatures: Requirement = {
  id: 'firewall.nft-features',
  need: 'core',
  what: 'nft (nftables) and the kernel accept the constructs Junction rulesets use',
  packages: ['nftables'],
  async check({ runner }) {
    const result = await nftCheck(runner, 'features.nft', NFT_FEATURE_PROBE, false);
    if (result.code === 0) return { ok: true, detail: 'sets, maps, counters, ct state, NFLOG, NAT and notrack accepted by nft -c' };
    if (result.code === 127) return { ok: false, detail: 'nft is not installed' };
    return { ok: false, detail: `nft -c rejected the feature probe: ${firstLine(result.stderr || result.stdout, `exit ${result.code}`)}`, packages: ['nftables (and a kernel with nf_tables, nf_nat, nf_conntrack, nfnetlink_log)'] };
  },
};

/** The plugins the log reader's ulogd.conf loads, by the package that ships each. */
const ULOGD_PLUGINS: Array<{ file: string; pkg: string }> = [
  { file: 'ulogd_inppkt_NFLOG.so', pkg: 'ulogd2' },
  { file: 'ulogd_raw2packet_BASE.so', pkg: 'ulogd2' },
  { file: 'ulogd_filter_IFINDEX.so', pkg: 'ulogd2' },
  { file: 'ulogd_filter_IP2STR.so', pkg: 'ulogd2' },
  { file: 'ulogd_output_JSON.so', pkg: 'ulogd2-json' },
];

const ulogd: Requirement = {
  id: 'firewall.ulogd',
  need: 'feature',
  what: 'ulogd2 with the NFLOG and JSON plugins writes the firewall log',
  packages: ['ulogd2', 'ulogd2-json'],
  async check({ runner }) {
    const version = await runner.run('ulogd', ['--version'], { timeoutMs: PROBE_TIMEOUT_MS });
    if (version.code !== 0) return { ok: false, detail: version.code === 127 ? 'ulogd is not installed' : `ulogd --version exited ${version.code}` };
    const absent = ULOGD_PLUGINS.filter((p) => !existsSync(join(ULOGD_PLUGIN_DIR, p.file)));
    if (absent.length) return { ok: false, detail: `missing ${absent.map((p) => join(ULOGD_PLUGIN_DIR, p.file)).join(', ')}`, packages: [...new Set(absent.map((p) => p.pkg))] };
    return { ok: true, detail: `${firstLine(version.stdout, 'ulogd')}, ${ULOGD_PLUGINS.length} plugins present` };
  },
};

/** Operators list and flush flows with it; `-C` also proves the kernel's conntrack answers over netlink. */
const conntrack = programRequirement({
  id: 'firewall.conntrack',
  need: 'feature',
  what: 'conntrack reads the kernel connection tracking table',
  packages: ['conntrack'],
  program: 'conntrack',
  args: ['-C'],
});

/** Flowtables (software fast path): a check-only batch the kernel validates and discards. */
const probeFlowtable: CapabilityProbe = async (runner, probeDevice) => {
  const batch = JSON.stringify({
    nftables: [
      { add: { table: { family: 'inet', name: 'junction_probe' } } },
      { add: { flowtable: { family: 'inet', table: 'junction_probe', name: 'ft', hook: 'ingress', prio: 0, dev: [probeDevice] } } },
    ],
  });
  const result = await nftCheck(runner, 'flowtable.json', batch, true);
  const flowtable = result.code === 0;
  return {
    flowtable,
    notes: flowtable ? [] : [`nftables flowtables unavailable (${firstLine(result.stderr, 'nft -c failed')}); established flows use the normal forward path`],
  };
};

export const firewallRequirements: SubsystemRequirements = {
  subsystem: 'firewall',
  requirements: [nftFeatures, ulogd, conntrack],
  capabilities: probeFlowtable,
};
