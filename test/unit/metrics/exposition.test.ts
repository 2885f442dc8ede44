// GET /metrics's content: each subsystem's families as the kernel and daemon
// fakes report them, assembled into a well-formed exposition (checked line
// by line), with failed readings absent rather than zero, one collection per
// max age however often it is read, and the commits counted.
import { describe, expect, it } from 'vitest';
import { MetricsService } from '../../../appliance/core/metrics.js';
import { family, SHARED_FAMILIES } from '../../../appliance/core/metric-samples.js';
import { parseExposition } from '../../support/prometheus-text.js';
import { fakeMetrics } from './fixture.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the metrics exposition', () => {
  it('carries every subsystem\'s families with their labels and values', async () => {
    const m = parseExposition(await (await fakeMetrics()).exposition());
    // links: lo is left out; both directions of every counter
    expect(m.value('junction_interface_bytes_total', { interface: 'ccnn0', direction: 'receive' })).toBe(5000);
    expect(m.value('junction_interface_packets_total', { interface: 'ccnn0', direction: 'transmit' })).toBe(70);
    expect(m.value('junction_interface_errors_total', { interface: 'vpc0', direction: 'receive' })).toBe(1);
    expect(m.value('junction_interface_drops_total', { interface: 'vpc0', direction: 'transmit' })).toBe(2);
    expect(m.value('junction_interface_up', { interface: 'vpc0' })).toBe(0);
    expect(m.all('junction_interface_up').map((s) => s.labels.interface)).not.toContain('lo');
    // firewall: rule by policy and id, the policy default, NAT per entry (v4 and v6 rules summed; untracked comments left out)
    expect(m.value('junction_firewall_rule_packets_total', { policy: 'a-to-b', rule: 'a-to-db' })).toBe(12);
    expect(m.value('junction_firewall_policy_default_bytes_total', { policy: 'a-to-b' })).toBe(240);
    expect(m.value('junction_nat_packets_total', { kind: 'egress', id: 'vpcs-out', hook: 'postrouting' })).toBe(12);
    expect(m.value('junction_nat_bytes_total', { kind: 'port_forward', id: 'web-in', hook: 'prerouting' })).toBe(180);
    expect(m.all('junction_nat_packets_total')).toHaveLength(2);
    expect(m.value('junction_conntrack_entries')).toBe(17);
    expect(m.value('junction_conntrack_limit')).toBe(262144);
    // vpn: one-hot state, traffic by direction, charon
    expect(m.value('junction_vpn_tunnel_state', { peer: 'site', tunnel: 'lan', state: 'up' })).toBe(1);
    expect(m.value('junction_vpn_tunnel_state', { peer: 'site', tunnel: 'lan', state: 'down' })).toBe(0);
    expect(m.value('junction_vpn_tunnel_bytes_total', { peer: 'site', tunnel: 'lan', direction: 'out' })).toBe(2000);
    expect(m.value('junction_vpn_tunnel_packets_total', { peer: 'site', tunnel: 'lan', direction: 'in' })).toBe(10);
    expect(m.value('junction_vpn_tunnel_rekeys_total', { peer: 'site', tunnel: 'lan' })).toBe(0);
    // bgp
    expect(m.value('junction_bgp_neighbor_state', { neighbor: 'dx-1', state: 'Established' })).toBe(1);
    expect(m.value('junction_bgp_neighbor_prefixes_received', { neighbor: 'dx-1' })).toBe(5);
    expect(m.value('junction_bgp_neighbor_prefixes_exported', { neighbor: 'dx-1' })).toBe(3);
    expect(m.value('junction_bgp_neighbor_uptime_seconds', { neighbor: 'dx-1' })).toBe(600);
    // one daemon family, filled by four subsystems
    expect(Object.fromEntries(m.all('junction_daemon_restarts_total').map((s) => [s.labels.daemon, s.value]))).toEqual({ 'udhcpc(ccnn0)': 1, charon: 0, bird: 2, ulogd: 0 });
    expect(m.value('junction_dhcp_leases', { interface: 'vpc0' })).toBe(3);
    // core
    expect(m.value('junction_revision')).toBe(7);
    expect(m.value('junction_commits_total', { source: 'api', outcome: 'applied' })).toBe(1);
    expect(m.value('junction_commit_duration_seconds_count', { outcome: 'applied' })).toBe(1);
    expect(m.value('junction_build_info', { version: '0.1.0-test' })).toBe(1);
    expect(m.all('junction_metrics_collector_up').every((s) => s.value === 1)).toBe(true);
    expect(m.types.get('junction_commit_duration_seconds')).toBe('histogram');
  });

  it('leaves out what could not be read instead of showing zeros, and says which subsystem failed', async () => {
    const service = new MetricsService([
      { name: 'broken', metrics: async () => { throw new Error('daemon gone'); } },
      { name: 'empty', metrics: async () => [family({ name: 'junction_conntrack_entries', help: 'x', type: 'gauge', labelNames: [] }, [])] },
    ], () => ({ revision: null, pendingConfirm: false }), { build: { version: 'v' } });
    const m = parseExposition(await service.exposition());
    expect(m.value('junction_metrics_collector_up', { subsystem: 'broken' })).toBe(0);
    expect(m.value('junction_metrics_collector_up', { subsystem: 'empty' })).toBe(1);
    expect(m.types.has('junction_conntrack_entries')).toBe(false);
    expect(m.types.has('junction_revision')).toBe(false);
    // the contract's shared families are declared even when nobody fills them
    expect(m.types.get(SHARED_FAMILIES.dhcpLeases.name)).toBe('gauge');
    expect(m.all(SHARED_FAMILIES.dhcpLeases.name)).toEqual([]);
  });

  it('reads the subsystems once per max age however often it is scraped, and says how old the reading is', async () => {
    let reads = 0;
    let value = 1;
    const service = new MetricsService([
      { name: 'counting', metrics: async () => { reads++; await sleep(20); return [family({ name: 'junction_conntrack_entries', help: 'x', type: 'gauge', labelNames: [] }, [{ value: value++ }])]; } },
    ], () => ({ revision: 1, pendingConfirm: false }), { maxAgeS: 1, build: { version: 'v' } });
    const concurrent = await Promise.all([service.exposition(), service.exposition(), service.exposition()]);
    expect(reads).toBe(1);
    expect(new Set(concurrent.map((t) => parseExposition(t).value('junction_conntrack_entries')))).toEqual(new Set([1]));
    await sleep(100);
    const cached = parseExposition(await service.exposition());
    expect(reads).toBe(1);
    expect(cached.value('junction_conntrack_entries')).toBe(1);
    expect(cached.value('junction_metrics_collections_total')).toBe(1);
    expect(cached.value('junction_metrics_age_seconds')).toBeGreaterThanOrEqual(0.1);
    expect(cached.value('junction_metrics_age_seconds')).toBeLessThanOrEqual(1);
    await sleep(1000);
    const fresh = parseExposition(await service.exposition());
    expect(reads).toBe(2);
    expect(fresh.value('junction_conntrack_entries')).toBe(2);
    expect(fresh.value('junction_metrics_collections_total')).toBe(2);
    expect(fresh.value('junction_metrics_age_seconds')).toBeLessThan(1);
  });

  it('lets other work run while it formats a large reading (100k rules are 200k series)', async () => {
    const samples = Array.from({ length: 30_000 }, (_, i) => ({ labels: { policy: 'p', rule: `r${i}` }, value: i }));
    const service = new MetricsService([
      { name: 'big', metrics: async () => [family({ name: 'junction_firewall_rule_packets_total', help: 'x', type: 'counter', labelNames: ['policy', 'rule'] }, samples)] },
    ], () => ({ revision: 1, pendingConfirm: false }), { build: { version: 'v' } });
    let finished = false;
    const answered: boolean[] = [];
    const reading = service.exposition().then((text) => {
      finished = true;
      return text;
    });
    // what an API request would be: work queued behind the formatting
    for (let i = 0; i < 3; i++) setImmediate(() => answered.push(!finished));
    const m = parseExposition(await reading);
    expect(answered).toEqual([true, true, true]);
    expect(m.all('junction_firewall_rule_packets_total')).toHaveLength(30_000);
  });

  it('counts commits by source and outcome, their durations, and reverts', async () => {
    const service = new MetricsService([], () => ({ revision: 3, pendingConfirm: true }), { build: { version: 'v' } });
    service.noteCommit({ source: 'api', ok: true, seconds: 0.3, revert: false, applySeconds: { firewall: 0.2, vpn: 0.04 } });
    service.noteCommit({ source: 'api', ok: false, seconds: 1.2, revert: false, applySeconds: { firewall: 1.1 } });
    service.noteCommit({ source: 'rollback', ok: true, seconds: 0.1, revert: true, applySeconds: {} });
    const m = parseExposition(await service.exposition());
    expect(m.value('junction_commits_total', { source: 'api', outcome: 'applied' })).toBe(1);
    expect(m.value('junction_commits_total', { source: 'api', outcome: 'failed' })).toBe(1);
    expect(m.value('junction_commits_total', { source: 'rollback', outcome: 'applied' })).toBe(1);
    expect(m.value('junction_commit_reverts_total')).toBe(1);
    expect(m.value('junction_commit_duration_seconds_sum', { outcome: 'failed' })).toBeCloseTo(1.2);
    expect(m.value('junction_commit_duration_seconds_bucket', { outcome: 'applied', le: '0.25' })).toBe(1);
    expect(m.value('junction_commit_pending_confirm')).toBe(1);
    expect(m.value('junction_commit_apply_seconds_count', { subsystem: 'firewall' })).toBe(2);
    expect(m.value('junction_commit_apply_seconds_sum', { subsystem: 'firewall' })).toBeCloseTo(1.3);
    expect(m.value('junction_commit_apply_seconds_bucket', { subsystem: 'vpn', le: '0.05' })).toBe(1);
  });
});
