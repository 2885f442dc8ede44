// One owner per check: verify (appliance/model/verify.ts) reports zone pairs,
// rule ids, NAT interfaces, ports and addresses; the rules compiler trusts
// verified input and does not report them again in other words.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../appliance/model/schema.js';
import { verifyConfig } from '../../appliance/model/verify.js';
import { uniqueProblems, type Problem } from '../../appliance/model/problems.js';
import { CompileError, compileRuleset } from '../../rules/index.js';

function base(): Config {
  return {
    interfaces: [
      { name: 'ccnn0', role: 'ccnn', zone: 'ccnn', addresses: ['100.64.0.2/24'] },
      { name: 'vpc0', role: 'vpc', zone: 'vpc-a', addresses: ['10.1.0.1/24'] },
      { name: 'vpc1', role: 'vpc', zone: 'vpc-b', addresses: ['10.2.0.1/24'] },
    ],
    zones: [{ name: 'ccnn' }, { name: 'vpc-a' }, { name: 'vpc-b' }],
    firewall: { policies: [{ name: 'a-to-b', from: 'vpc-a', to: 'vpc-b', rules: [{ id: 'r1', action: 'accept' }] }] },
    nat: {
      egress: [{ id: 'out', sources: ['vpc-a'], interface: 'ccnn0' }],
      port_forwards: [{ id: 'web', interface: 'ccnn0', protocol: 'tcp', port: 8000, to_address: '10.1.0.11', to_port: 80 }],
    },
  };
}

function compilerProblems(config: Config): Problem[] {
  try {
    compileRuleset(config, { flowtable: false });
    return [];
  } catch (error) {
    if (error instanceof CompileError) return error.problems;
    throw error;
  }
}

const cases: Array<[string, (c: Config) => void, string]> = [
  ['a second policy for a zone pair', (c) => c.firewall!.policies.push({ name: 'again', from: 'vpc-a', to: 'vpc-b', rules: [] }), '/firewall/policies/1/to'],
  ['a rule id used twice', (c) => c.firewall!.policies.push({ name: 'b-to-a', from: 'vpc-b', to: 'vpc-a', rules: [{ id: 'r1', action: 'drop' }] }), '/firewall/policies/1/rules/0/id'],
  ['a policy to an unknown zone', (c) => (c.firewall!.policies[0].to = 'vpc-x'), '/firewall/policies/0/to'],
  ['a policy from an unknown zone', (c) => (c.firewall!.policies[0].from = 'vpc-x'), '/firewall/policies/0/from'],
  ['NAT egress on an unknown interface', (c) => (c.nat!.egress![0].interface = 'ccnn9'), '/nat/egress/0/interface'],
  ['a port forward on an unknown interface', (c) => (c.nat!.port_forwards![0].interface = 'ccnn9'), '/nat/port_forwards/0/interface'],
  ['a reversed port range', (c) => { c.nat!.port_forwards![0].port = '90-80'; delete c.nat!.port_forwards![0].to_port; }, '/nat/port_forwards/0/port'],
  ['snat without to_address', (c) => (c.nat!.egress![0].mode = 'snat'), '/nat/egress/0/to_address'],
  ['a port forward to the router itself', (c) => (c.nat!.port_forwards![0].to_address = '10.1.0.1'), '/nat/port_forwards/0/to_address'],
];

describe('each check has one owner', () => {
  it('the base document is clean for both', () => {
    expect(verifyConfig(base())).toEqual([]);
    expect(compilerProblems(base())).toEqual([]);
  });

  for (const [what, spoil, path] of cases) {
    it(`${what}: verify reports it once at ${path}; the compiler says nothing`, () => {
      const c = base();
      spoil(c);
      const verified = verifyConfig(c);
      expect(verified.filter((p) => p.path === path), JSON.stringify(verified)).toHaveLength(1);
      expect(compilerProblems(c)).toEqual([]);
      // what a commit reports: no path twice
      const all = uniqueProblems([...verified, ...compilerProblems(c)]);
      expect(new Set(all.map((p) => p.path)).size).toBe(all.length);
    });
  }

  it('reversed address ranges are the compiler\'s (it resolves literals), reported once and plainly', () => {
    const c = base();
    c.objects = { addresses: [{ name: 'rev', entries: ['10.0.0.9-10.0.0.1'] }], services: [{ name: 'revp', entries: [{ protocol: 'tcp', ports: ['90-80'] }] }] };
    c.firewall!.policies[0].rules = [
      { id: 'lit', action: 'accept', source: ['10.1.0.9-10.1.0.1'], services: ['tcp/90-80'] },
      { id: 'obj', action: 'accept', source: ['rev'], services: ['revp'] },
    ];
    expect(verifyConfig(c)).toEqual([]);
    expect(compilerProblems(c)).toEqual([
      { path: '/firewall/policies/0/rules/0/source/0', message: '"10.1.0.9-10.1.0.1" is a reversed range: the first address is above the last (did you mean 10.1.0.1-10.1.0.9?)' },
      { path: '/firewall/policies/0/rules/0/services/0', message: '"90-80" is a reversed range: the first port is above the last (did you mean 80-90?)' },
      { path: '/objects/addresses/0/entries/0', message: '"10.0.0.9-10.0.0.1" is a reversed range: the first address is above the last (did you mean 10.0.0.1-10.0.0.9?)' },
      { path: '/objects/services/0/entries/0', message: '"90-80" is a reversed range: the first port is above the last (did you mean 80-90?)' },
    ]);
  });
});
