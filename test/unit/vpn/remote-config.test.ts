// Remote-side config generators: golden files for every case in
// fixtures/remote-config/cases.ts (reviewed by hand against each vendor's
// documented syntax; the syntax models in remote-config-grammar.test.ts
// check the same text against the vendors' grammars), the mirror-image
// mapping, the on-prem parameters, and what each vendor must reject.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../../appliance/model/schema.js';
import {
  REMOTE_CONFIG_FORMATS,
  RemoteConfigError,
  RemoteConfigParamError,
  PSK_PLACEHOLDER,
  buildRemoteSite,
  generateRemoteConfig,
  parseRemoteConfigParams,
  type Vendor,
} from '../../../appliance/subsystems/vpn/remote-config/index.js';
import { fortigatePhase1Names } from '../../../appliance/subsystems/vpn/remote-config/fortigate.js';
import { parseProposal } from '../../../appliance/subsystems/vpn/remote-config/transforms.js';
import { GOLDEN_CASES, PSK, gcmPeer, goldenPath, ikev1Peer, multiPeer, readGolden, renderCase } from './fixtures/remote-config/cases.js';

describe('remote config golden files', () => {
  for (const c of GOLDEN_CASES) {
    it(`${c.name} as ${c.format}${c.params ? ` with ${JSON.stringify(c.params)}` : ''}`, () => {
      // a missing or stale file: node --import tsx test/unit/vpn/update-remote-config-golden.ts, then review the diff
      expect(renderCase(c), goldenPath(c)).toBe(readGolden(c));
    });
  }
});

describe('the mirror image', () => {
  it('swaps subnets, addresses and identities and keeps proposals, DPD and lifetimes', () => {
    const site = buildRemoteSite(gcmPeer(), 'dc1');
    expect(site.localAddress).toBe('198.18.1.2');
    expect(site.remoteAddress).toBe('100.64.0.2');
    expect(site.localId).toBe('onprem.example.com');
    expect(site.remoteId).toBe('junction.example.com');
    expect(site.tunnels[0]!.localSubnets).toEqual(['192.168.50.0/24']);
    expect(site.tunnels[0]!.remoteSubnets).toEqual(['10.1.0.0/24']);
    expect(site.ikeProposals).toEqual(['aes256gcm16-prfsha384-ecp384']);
    expect(site.tunnels[0]!.pfsGroups).toEqual([20]);
    expect([site.ikeRekeyTimeS, site.dpdDelayS, site.tunnels[0]!.rekeyTimeS]).toEqual([14400, 10, 3600]);
  });

  it('uses the local_interface address, then local_address, as Junction\'s endpoint', () => {
    const doc = gcmPeer();
    doc.vpn!.peers[0]!.local_interface = 'vpc1';
    expect(buildRemoteSite(doc, 'dc1').remoteAddress).toBe('10.2.0.1');
    doc.vpn!.peers[0]!.local_address = '100.64.0.9';
    expect(buildRemoteSite(doc, 'dc1').remoteAddress).toBe('100.64.0.9');
  });

  it('refuses when the endpoint address is not known (DHCP on ccnn)', () => {
    const doc = gcmPeer();
    doc.interfaces[0] = { name: 'ccnn0', role: 'ccnn', zone: 'ccnn', dhcp: true };
    expect(() => buildRemoteSite(doc, 'dc1')).toThrow(/no static IPv4 address \(it uses DHCP\).*set local_address/);
  });

  it('PFS: without a group an ESP proposal gets the first IKE group; pfs: false removes groups', () => {
    const doc = gcmPeer();
    doc.vpn!.peers[0]!.tunnels[0]!.esp_proposals = ['aes128gcm16'];
    expect(buildRemoteSite(doc, 'dc1').tunnels[0]!.espProposals).toEqual(['aes128gcm16-ecp384']);
    doc.vpn!.peers[0]!.tunnels[0]!.pfs = false;
    doc.vpn!.peers[0]!.tunnels[0]!.esp_proposals = ['aes128gcm16-ecp256'];
    expect(buildRemoteSite(doc, 'dc1').tunnels[0]!.espProposals).toEqual(['aes128gcm16']);
  });

  it('IKEv1 peers without proposals get the CBC defaults', () => {
    const doc = ikev1Peer();
    delete doc.vpn!.peers[0]!.ike_proposals;
    expect(buildRemoteSite(doc, 'legacy').ikeProposals).toEqual(['aes256-sha256-modp2048', 'aes128-sha256-modp2048']);
  });
});

describe('secrets', () => {
  it('every format carries the PSK, and none does with includeSecret: false', () => {
    for (const format of REMOTE_CONFIG_FORMATS) {
      const doc = gcmPeer();
      expect(generateRemoteConfig(doc, 'dc1', format)).toContain(PSK);
      const without = generateRemoteConfig(doc, 'dc1', format, { includeSecret: false });
      expect(without).not.toContain(PSK);
      expect(without).toContain(format === 'pfsense' ? '&lt;PRE-SHARED-KEY&gt;' : PSK_PLACEHOLDER);
    }
  });

  it('strongSwan writes a PSK with quotes as base64', () => {
    const doc = gcmPeer();
    (doc.vpn!.peers[0]!.auth as { psk: string }).psk = 'has "quotes" \\ and more';
    expect(generateRemoteConfig(doc, 'dc1', 'strongswan')).toContain(`secret = 0s${Buffer.from('has "quotes" \\ and more').toString('base64')}`);
  });

  it('CLI formats refuse a PSK with whitespace, without echoing it', () => {
    const doc = gcmPeer();
    (doc.vpn!.peers[0]!.auth as { psk: string }).psk = 'two words secret key 123';
    for (const format of ['cisco-asa', 'fortigate', 'paloalto'] as const) {
      const error = (() => { try { generateRemoteConfig(doc, 'dc1', format); } catch (e) { return e as RemoteConfigError; } })();
      expect(error).toBeInstanceOf(RemoteConfigError);
      expect(error!.message).not.toContain('two words');
      expect(error!.path).toBe('/vpn/peers/0/auth/psk');
    }
  });

  it('certificate peers name the certificates and CA to install, and carry no key', () => {
    const doc = gcmPeer();
    doc.vpn!.peers[0]!.auth = { method: 'cert', certificate: 'junction-gw', ca: 'corp-root' };
    for (const format of REMOTE_CONFIG_FORMATS) {
      const text = generateRemoteConfig(doc, 'dc1', format);
      expect(text, format).toContain('"junction-gw"');
      expect(text, format).toContain('"corp-root"');
      expect(text, format).not.toContain('pre-shared');
    }
    expect(generateRemoteConfig(doc, 'dc1', 'strongswan')).toContain('auth = pubkey');
    expect(generateRemoteConfig(doc, 'dc1', 'strongswan')).not.toContain('secrets {');
  });
});

describe('proposal translation: what vendors cannot express is rejected with the path', () => {
  const withIke = (ike: string[], version: 1 | 2 = 2): Config => {
    const doc = gcmPeer();
    doc.vpn!.peers[0]!.ike_proposals = ike;
    doc.vpn!.peers[0]!.ike_version = version;
    return doc;
  };
  const withEsp = (esp: string[]): Config => {
    const doc = gcmPeer();
    doc.vpn!.peers[0]!.tunnels[0]!.esp_proposals = esp;
    return doc;
  };
  const rejects = (doc: Config, format: Vendor, message: RegExp, path: string) => {
    let error: unknown;
    try {
      generateRemoteConfig(doc, doc.vpn!.peers[0]!.name, format);
    } catch (e) {
      error = e;
    }
    expect(error, `${format} should reject`).toBeInstanceOf(RemoteConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as RemoteConfigError).path).toBe(path);
  };

  it('unsupported DH groups', () => {
    rejects(withIke(['aes256-sha256-curve25519']), 'paloalto', /PAN-OS cannot express DH group 31 \(curve25519\)/, '/vpn/peers/0/ike_proposals/0');
    rejects(withIke(['aes256-sha256-ecp256bp']), 'cisco-asa', /Cisco ASA cannot express DH group 28 \(ecp256bp\)/, '/vpn/peers/0/ike_proposals/0');
    rejects(withIke(['aes256-sha256-modp768']), 'libreswan', /Libreswan cannot express DH group 1/, '/vpn/peers/0/ike_proposals/0');
    rejects(withEsp(['aes256gcm16-ecp224']), 'fortigate', /FortiGate cannot express DH group 26/, '/vpn/peers/0/tunnels/0/esp_proposals/0');
  });

  it('GCM with IKEv1', () => {
    rejects(withIke(['aes256gcm16-prfsha256-modp2048'], 1), 'cisco-asa', /AES-GCM with IKEv1/, '/vpn/peers/0/ike_proposals/0');
    rejects(withIke(['aes256gcm16-prfsha256-modp2048'], 1), 'paloalto', /AES-GCM with IKEv1/, '/vpn/peers/0/ike_proposals/0');
    rejects(withIke(['aes256gcm16-prfsha256-modp2048'], 1), 'fortigate', /IKEv1/, '/vpn/peers/0/ike_proposals/0');
  });

  it('short GCM ICVs, ChaCha20-Poly1305 and AES-192-GCM where the vendor lacks them', () => {
    rejects(withEsp(['aes128gcm8']), 'cisco-asa', /8-byte ICV/, '/vpn/peers/0/tunnels/0/esp_proposals/0');
    rejects(withEsp(['chacha20poly1305']), 'paloalto', /ChaCha20-Poly1305/, '/vpn/peers/0/tunnels/0/esp_proposals/0');
    rejects(withEsp(['chacha20poly1305']), 'pfsense', /ChaCha20-Poly1305/, '/vpn/peers/0/tunnels/0/esp_proposals/0');
    rejects(withEsp(['aes192gcm16']), 'fortigate', /AES-192-GCM/, '/vpn/peers/0/tunnels/0/esp_proposals/0');
  });

  it('IPv6 selectors where the output needs masks', () => {
    const doc = gcmPeer();
    doc.vpn!.peers[0]!.tunnels[0]!.remote_subnets = ['fd00:50::/64'];
    rejects(doc, 'cisco-asa', /IPv4 selectors only/, '/vpn/peers/0/tunnels/0/remote_subnets');
  });

  it('keywords outside the table, and malformed proposals', () => {
    expect(() => parseProposal('camellia256-sha256-modp2048', 'ike', '/p')).toThrow(/"camellia256" is not in Junction's proposal translation table/);
    expect(() => parseProposal('aes256-prfsha256', 'esp', '/p')).toThrow(/PRF/);
    expect(() => parseProposal('aes256-sha256', 'ike', '/p')).toThrow(/no DH group/);
    expect(() => parseProposal('aes256', 'esp', '/p')).toThrow(/needs an integrity algorithm/);
    expect(() => parseProposal('aes256gcm16-aes256-sha256', 'esp', '/p')).toThrow(/mixes AEAD/);
  });

  it('Cisco ASA with IKEv1: SHA-2 is refused with what the ASA can do (IKEv2 or SHA-1), IKE and ESP alike', () => {
    rejects(ikev1Peer(), 'cisco-asa', /Cisco ASA cannot express SHA-256 with IKEv1 .*set ike_version 2 on this peer, or use a SHA-1 proposal/, '/vpn/peers/0/ike_proposals/0');
    const esp = ikev1Peer();
    esp.vpn!.peers[0]!.ike_proposals = ['aes256-sha1-modp2048'];
    rejects(esp, 'cisco-asa', /SHA-256 in an IKEv1 transform set .*IKEv2 only/, '/vpn/peers/0/tunnels/0/esp_proposals/0');
    const ecp = ikev1Peer();
    ecp.vpn!.peers[0]!.ike_proposals = ['aes256-sha1-ecp256'];
    rejects(ecp, 'cisco-asa', /DH group 19 with IKEv1/, '/vpn/peers/0/ike_proposals/0');
    // the same peer with IKEv2 is fine: SHA-2 is an IKEv2 option on the ASA
    const v2 = ikev1Peer();
    v2.vpn!.peers[0]!.ike_version = 2;
    expect(generateRemoteConfig(v2, 'legacy', 'cisco-asa')).toMatch(/^ integrity sha256$/m);
  });

  it('a missing peer', () => {
    expect(() => generateRemoteConfig(gcmPeer(), 'nope', 'strongswan')).toThrow(/no IKE peer "nope"/);
  });
});

describe('on-prem parameters', () => {
  const paramError = (run: () => unknown): RemoteConfigParamError => {
    try {
      run();
    } catch (e) {
      if (e instanceof RemoteConfigParamError) return e;
      throw e;
    }
    throw new Error('expected a RemoteConfigParamError');
  };

  it('are parsed per format; a bad, unknown or misplaced one names itself', () => {
    expect(parseRemoteConfigParams('cisco-asa', { crypto_map: 'OUTSIDE_MAP', crypto_map_seq: '300' })).toEqual({ crypto_map: 'OUTSIDE_MAP', crypto_map_seq: 300 });
    expect(parseRemoteConfigParams('libreswan', { version: '5' })).toEqual({ version: 5 });
    expect(paramError(() => parseRemoteConfigParams('paloalto', { tunnel_unit: '10000' }))).toMatchObject({ param: 'tunnel_unit', message: expect.stringMatching(/from 1 to 9999/) });
    expect(paramError(() => parseRemoteConfigParams('paloalto', { crypto_map: 'X' }))).toMatchObject({ param: 'crypto_map', message: expect.stringMatching(/applies to format cisco-asa, not paloalto/) });
    expect(paramError(() => parseRemoteConfigParams('cisco-asa', { crypto_map: 'bad name; shutdown' }))).toMatchObject({ param: 'crypto_map' });
    expect(paramError(() => parseRemoteConfigParams('fortigate', { wan: 'port1' }))).toMatchObject({ param: 'wan', message: 'unknown parameter "wan"' });
    expect(paramError(() => parseRemoteConfigParams('libreswan', { version: '6' }))).toMatchObject({ param: 'version' });
  });

  it('a parameter that does not fit the peer is refused, naming it', () => {
    expect(paramError(() => generateRemoteConfig(multiPeer(), 'branch', 'paloalto', { params: { tunnel_unit: 9999 } }))).toMatchObject({ param: 'tunnel_unit', message: expect.stringMatching(/no room for 2 tunnel interfaces/) });
  });

  it('Cisco ASA: with crypto_map the entries go on that map at crypto_map_seq and nothing is bound; without it the new map is bound', () => {
    const existing = generateRemoteConfig(multiPeer(), 'branch', 'cisco-asa', { params: { crypto_map: 'OUTSIDE_MAP', crypto_map_seq: 300, ike_policy_priority: 50 } });
    expect(existing).toMatch(/^crypto map OUTSIDE_MAP 300 match address JUNCTION-BRANCH-VPCS$/m);
    expect(existing).toMatch(/^crypto map OUTSIDE_MAP 301 match address JUNCTION-BRANCH-MGMT$/m);
    expect(existing).not.toMatch(/^crypto map \S+ interface/m);
    expect(existing).toMatch(/^crypto ikev2 policy 50$/m);
    expect(existing).toMatch(/^crypto ikev2 policy 51$/m);
    const fresh = generateRemoteConfig(multiPeer(), 'branch', 'cisco-asa');
    expect(fresh).toMatch(/^crypto map JUNCTION-BRANCH interface outside$/m);
    expect(fresh).toMatch(/pass\n!   crypto_map=<its name>/);
  });

  it('derived numbers are stable for a peer and differ between peers', () => {
    const a = generateRemoteConfig(gcmPeer(), 'dc1', 'pfsense');
    expect(generateRemoteConfig(gcmPeer(), 'dc1', 'pfsense')).toBe(a);
    const ikeid = (text: string) => /<ikeid>(\d+)<\/ikeid>/.exec(text)![1];
    expect(Number(ikeid(a))).toBeGreaterThanOrEqual(1000);
    expect(ikeid(generateRemoteConfig(multiPeer(), 'branch', 'pfsense'))).not.toBe(ikeid(a));
  });
});

describe('FortiGate names', () => {
  it('phase 1 names fit in 15 characters, depend only on the set of peers and never collide', () => {
    const peers = ['dc1', 'frankfurt-datacenter-primary-gw1', 'frankfurt-datacenter-primary-gw2', 'a-name-of-exactly-15'.slice(0, 15)];
    const names = fortigatePhase1Names(peers);
    expect(names.get('dc1')).toBe('dc1');
    expect(names.get('a-name-of-exact')).toBe('a-name-of-exact');
    for (const name of names.values()) expect(name.length).toBeLessThanOrEqual(15);
    expect(new Set(names.values()).size).toBe(peers.length);
    expect(fortigatePhase1Names([...peers].reverse())).toEqual(names);
  });

  it('a long name whose hash lands on a taken name moves to the next one', () => {
    const first = fortigatePhase1Names(['frankfurt-datacenter-primary-gw1']).get('frankfurt-datacenter-primary-gw1')!;
    // a short peer that happens to be called exactly like the long peer's shortened name
    const names = fortigatePhase1Names([first, 'frankfurt-datacenter-primary-gw1']);
    expect(names.get(first)).toBe(first);
    expect(names.get('frankfurt-datacenter-primary-gw1')).not.toBe(first);
    expect(names.get('frankfurt-datacenter-primary-gw1')!.length).toBeLessThanOrEqual(15);
  });

  it('phase 2 names start with the phase 1 name, so two peers with a tunnel "lan" do not share one', () => {
    const doc = gcmPeer();
    doc.vpn!.peers.push({ ...structuredClone(doc.vpn!.peers[0]!), name: 'dc2', remote: '198.18.1.3' });
    const names = (peer: string) => [...generateRemoteConfig(doc, peer, 'fortigate').matchAll(/^ {4}edit "([^"]+)"$/gm)].map((m) => m[1]);
    expect(names('dc1')).toEqual(['dc1', 'dc1-lan']);
    expect(names('dc2')).toEqual(['dc2', 'dc2-lan']);
  });
});
