// The generated remote configs against syntax models of each vendor's
// grammar (test/support/vendor-grammar): every golden case must be clean
// for an on-prem box holding the objects the case names, and the outputs
// of the generators before the issue-10 fixes (fixtures/remote-config/
// before-fix, kept verbatim) must fail the same models for the reasons the
// issue gives: IKEv1 SHA-2 on an ASA, a crypto map bound over an existing
// one, a policy number overwritten, no NAT exemption, tunnel.10 in no zone
// or virtual router, phase 2 names shared across peers, fixed ikeid/reqid,
// Libreswan 5 keywords.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateRemoteConfig } from '../../../appliance/subsystems/vpn/remote-config/index.js';
import { checkCiscoAsa, type AsaRunning } from '../../support/vendor-grammar/cisco-asa.js';
import { checkFortios } from '../../support/vendor-grammar/fortios.js';
import { checkLibreswan } from '../../support/vendor-grammar/libreswan.js';
import { checkPanos } from '../../support/vendor-grammar/panos.js';
import { checkPfsense } from '../../support/vendor-grammar/pfsense.js';
import { checkSwanctl } from '../../support/vendor-grammar/swanctl.js';
import type { GrammarProblem } from '../../support/vendor-grammar/common.js';
import { GOLDEN_CASES, gcmPeer, longNamesPeer, readGolden, type GoldenCase } from './fixtures/remote-config/cases.js';

const BEFORE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/remote-config/before-fix');
const before = (file: string) => readFileSync(join(BEFORE, file), 'utf8');
const messages = (problems: GrammarProblem[]) => problems.map((p) => `${p.line}: ${p.message}`);

/** The model of a case's vendor, with the on-prem objects the case's parameters name. */
function check(c: GoldenCase, text: string): GrammarProblem[] {
  const p = c.params ?? {};
  switch (c.format) {
    case 'cisco-asa': {
      const interfaces = [p.outside_interface ?? 'outside', p.inside_interface ?? 'inside'];
      return checkCiscoAsa(text, { interfaces, ...(p.crypto_map ? { boundMaps: { [interfaces[0]!]: p.crypto_map } } : {}) });
    }
    case 'fortigate':
      return checkFortios(text, { interfaces: [p.wan_interface ?? 'wan1'] });
    case 'paloalto':
      return checkPanos(text, { interfaces: [p.wan_interface ?? 'ethernet1/1'] });
    case 'pfsense':
      return checkPfsense(text, { interfaces: [p.interface ?? 'wan'] });
    case 'libreswan':
      return checkLibreswan(text, p.version === 5 ? 5 : 4);
    case 'strongswan':
      return checkSwanctl(text); // and loaded into a real charon by test/lab/vpn-remote-config-swanctl.test.ts
  }
}

describe('every golden case passes its vendor\'s syntax model', () => {
  for (const c of GOLDEN_CASES) {
    it(`${c.name} as ${c.format}`, () => expect(messages(check(c, readGolden(c)))).toEqual([]));
  }
});

describe('the models are strict enough to fail the pre-fix output', () => {
  it('Cisco ASA: IKEv1 hash sha256 / esp-sha256-hmac, a map bound over the existing one, policy 10 overwritten, no NAT exemption', () => {
    const running: AsaRunning = { boundMaps: { outside: 'OUTSIDE_MAP' }, ikev1Policies: [10], ikev2Policies: [10], mapEntries: { OUTSIDE_MAP: [10] } };
    const ikev1 = messages(checkCiscoAsa(before('ikev1Peer.cisco-asa.txt'), running)).join('\n');
    expect(ikev1).toMatch(/mode ikev1-policy: an IKEv1 policy hash is sha or md5/);
    expect(ikev1).toMatch(/IKEv1 transform-set authentication is one of esp-md5-hmac, esp-sha-hmac, esp-none/);
    expect(ikev1).toMatch(/crypto ikev1 policy 10 already exists and would be overwritten/);
    expect(ikev1).toMatch(/binding crypto map JUNCTION-LEGACY to outside replaces crypto map OUTSIDE_MAP/);
    expect(ikev1).toMatch(/no identity NAT rule .* dynamic PAT/);
    const gcm = messages(checkCiscoAsa(before('gcmPeer.cisco-asa.txt'), running)).join('\n');
    expect(gcm).toMatch(/crypto ikev2 policy 10 already exists/);
    expect(gcm).toMatch(/replaces crypto map OUTSIDE_MAP/);
    expect(gcm).toMatch(/no identity NAT rule/);
    // today's output for the same ASA, told about its map: clean
    const now = generateRemoteConfig(gcmPeer(), 'dc1', 'cisco-asa', { params: { crypto_map: 'OUTSIDE_MAP' } });
    expect(messages(checkCiscoAsa(now, running))).toEqual([]);
  });

  it('Cisco ASA: the model knows the sub-modes (a policy command at the top level is unknown)', () => {
    expect(messages(checkCiscoAsa('crypto ikev2 policy 5\n encryption aes-256\nhash sha\n'))).toEqual(['3: global configuration: not a known command here']);
    expect(messages(checkCiscoAsa(' hash sha\n'))).toEqual(['1: a sub-command outside any configuration mode']);
  });

  it('PAN-OS: tunnel.10 in no zone and no virtual router fails the commit; a unit in use is not free', () => {
    const old = messages(checkPanos(before('gcmPeer.paloalto.txt'))).join('\n');
    expect(old).toMatch(/static route: tunnel.10 is in no virtual router \(commit fails\)/);
    expect(old).toMatch(/tunnel.10 is in no security zone/);
    const now = readGolden(GOLDEN_CASES.find((c) => c.name === 'gcm' && c.format === 'paloalto')!);
    const unit = /units (tunnel\.\d+)/.exec(now)![1]!;
    expect(messages(checkPanos(now, { tunnelUnits: ['tunnel.10'] }))).toEqual([]);
    expect(messages(checkPanos(now, { tunnelUnits: [unit] })).join('\n')).toMatch(new RegExp(`${unit.replace('.', '\\.')} is already configured`));
  });

  it('FortiGate: two peers\' configs pasted into one box must not share phase 1 or phase 2 names', () => {
    // the pre-fix generator named phase 2 after the tunnel alone: peer dc2 with the same tunnel "lan" gave the same name
    const old = before('gcmPeer.fortigate.txt');
    expect(messages(checkFortios(old + old.replaceAll('dc1', 'dc2'))).join('\n')).toMatch(/edit "lan" in vpn ipsec phase2-interface changes an entry that already exists/);
    // and cut long phase 1 names at 15 characters, so two long peer names sharing a prefix collided
    const long = (peer: string) => generateRemoteConfig(longNamesPeer(), peer, 'fortigate');
    const cut = (text: string) => text.replaceAll(/frankfurt-[0-9a-f]{4}/g, 'frankfurt-datac');
    expect(messages(checkFortios(cut(long('frankfurt-datacenter-primary-gw1')) + cut(long('frankfurt-datacenter-primary-gw2')))).join('\n')).toMatch(/edit "frankfurt-datac" in vpn ipsec phase1-interface changes an entry/);
    expect(messages(checkFortios(long('frankfurt-datacenter-primary-gw1') + long('frankfurt-datacenter-primary-gw2')))).toEqual([]);
    expect(messages(checkFortios(old.replace('edit "dc1"', 'edit "a-peer-name-of-20ch"').replace('phase1name "dc1"', 'phase1name "a-peer-name-of-20ch"'))).join('\n')).toMatch(/at most 15 characters/);
  });

  it('pfSense: the fixed ikeid 1 and reqid 1 collide with existing entries', () => {
    const running = { ikeids: [1], reqids: [1, 2] };
    const old = messages(checkPfsense(before('multiPeer.pfsense.xml'), running)).join('\n');
    expect(old).toMatch(/phase 1 ikeid 1 is already used/);
    expect(old).toMatch(/phase 2 reqid 1 is already used/);
    const now = readGolden(GOLDEN_CASES.find((c) => c.name === 'multi' && c.format === 'pfsense')!);
    expect(messages(checkPfsense(now, running))).toEqual([]);
    expect(messages(checkPfsense('<ipsec><phase1><ikeid>1</ikeid><bogus>x</bogus></phase1></ipsec>')).join('\n')).toMatch(/<phase1\/bogus> is not an element/);
  });

  it('strongSwan: a key outside its section or a value outside its set is refused', () => {
    const good = readGolden(GOLDEN_CASES.find((c) => c.name === 'gcm' && c.format === 'strongswan')!);
    expect(messages(checkSwanctl(good.replace('    version = 2\n', '    version = 2\n    start_action = none\n'))).join('\n')).toMatch(/connections.junction-dc1: no key "start_action"/);
    expect(messages(checkSwanctl(good.replace('dpd_action = restart', 'dpd_action = hold'))).join('\n')).toMatch(/dpd_action is one of clear, trap, restart/);
  });

  it('Libreswan 5: ikev2= and dpdaction= of the 4.x output are refused; the 5.x variant passes', () => {
    const old = messages(checkLibreswan(before('gcmPeer.libreswan.conf'), 5)).join('\n');
    expect(old).toMatch(/ikev2= has been replaced by keyexchange=/);
    expect(old).toMatch(/dpdaction= is an obsolete keyword/);
    expect(old).toMatch(/ignores dpdtimeout= with IKEv2/);
    expect(messages(checkLibreswan(generateRemoteConfig(gcmPeer(), 'dc1', 'libreswan', { params: { version: 5 } }), 4)).join('\n')).toMatch(/"keyexchange=" is not a Libreswan 4 keyword/);
  });
});
