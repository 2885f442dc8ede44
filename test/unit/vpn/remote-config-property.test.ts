// Property: for any valid IKE peer (names up to 32 characters, IKEv1/v2,
// proposals from the translation table, lifetimes and DPD over their whole
// schema ranges, several tunnels and subnets) and any valid on-prem
// parameters, every generator either refuses with a RemoteConfigError /
// RemoteConfigParamError or writes text its vendor's syntax model accepts
// for a box holding the objects the parameters name. Snapshots cannot show
// this; it is where range and name-length mistakes surface.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../../appliance/model/schema.js';
import { RemoteConfigError, RemoteConfigParamError, generateRemoteConfig, type RemoteConfigParams, type Vendor } from '../../../appliance/subsystems/vpn/remote-config/index.js';
import { fuzzParameters } from '../../support/config-arbitraries.js';
import { checkCiscoAsa } from '../../support/vendor-grammar/cisco-asa.js';
import { checkFortios } from '../../support/vendor-grammar/fortios.js';
import { checkLibreswan } from '../../support/vendor-grammar/libreswan.js';
import { checkPanos } from '../../support/vendor-grammar/panos.js';
import { checkPfsense } from '../../support/vendor-grammar/pfsense.js';
import { checkSwanctl } from '../../support/vendor-grammar/swanctl.js';
import type { GrammarProblem } from '../../support/vendor-grammar/common.js';

const RUNS = fuzzParameters(60);
const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,31}$/);
const IKE = ['aes256gcm16-prfsha384-ecp384', 'aes128gcm16-prfsha256-ecp256', 'aes256-sha256-modp2048', 'aes128-sha1-modp2048', 'aes256-sha1-modp1024', '3des-sha1-modp1536', 'aes256-sha512-ecp521'];
const ESP = ['aes256gcm16-ecp384', 'aes128gcm16', 'aes256-sha256-modp2048', 'aes128-sha1', 'aes256-sha1-modp2048', 'aes192-sha384'];
const subnet = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 255 }), fc.constantFrom(16, 24, 28, 32)).map(([a, b, len]) => (len === 16 ? `${a}.${b}.0.0/16` : len === 32 ? `${a}.${b}.7.9/32` : `${a}.${b}.3.${len === 24 ? 0 : 16}/${len}`));

const tunnel = fc.record({
  local_subnets: fc.uniqueArray(subnet, { minLength: 1, maxLength: 2 }),
  remote_subnets: fc.uniqueArray(subnet, { minLength: 1, maxLength: 2 }),
  esp_proposals: fc.subarray(ESP, { minLength: 1, maxLength: 2 }),
  pfs: fc.boolean(),
  rekey_time_s: fc.integer({ min: 60, max: 86_400 }),
  start_action: fc.constantFrom('start' as const, 'none' as const),
  dpd_action: fc.constantFrom('restart' as const, 'clear' as const, 'trap' as const, 'none' as const),
});

const peer = fc.record({
  name,
  remote: fc.oneof(fc.constantFrom('198.18.1.2', '203.0.113.10', 'onprem.example.com')),
  ike_version: fc.constantFrom(1 as const, 2 as const),
  psk: fc.stringMatching(/^[A-Za-z0-9!#$%&()*+,./:;<=>?@^_{|}~-]{16,40}$/),
  local_id: fc.option(fc.constantFrom('junction.example.com', 'gw@example.com', '100.64.0.2'), { nil: undefined }),
  remote_id: fc.option(fc.constantFrom('onprem.example.com', 'fw@example.com'), { nil: undefined }),
  ike_proposals: fc.subarray(IKE, { minLength: 1, maxLength: 3 }),
  rekey_time_s: fc.integer({ min: 300, max: 86_400 * 7 }),
  dpd_delay_s: fc.integer({ min: 0, max: 3600 }),
  dpd_timeout_s: fc.integer({ min: 5, max: 3600 }),
  tunnels: fc.uniqueArray(fc.tuple(name, tunnel), { minLength: 1, maxLength: 3, selector: ([n]) => n }),
});

const params: Record<Vendor, fc.Arbitrary<RemoteConfigParams>> = {
  'cisco-asa': fc.record({ crypto_map: fc.constantFrom('OUTSIDE_MAP', 'cm1'), crypto_map_seq: fc.integer({ min: 1, max: 65535 }), ike_policy_priority: fc.integer({ min: 1, max: 65535 }), outside_interface: fc.constantFrom('outside', 'WAN1') }, { requiredKeys: [] }),
  fortigate: fc.record({ wan_interface: fc.constantFrom('wan1', 'port2') }, { requiredKeys: [] }),
  paloalto: fc.record({ tunnel_unit: fc.integer({ min: 1, max: 9999 }), zone: fc.constantFrom('vpn', 'untrust-vpn'), virtual_router: fc.constantFrom('default', 'vr1'), wan_interface: fc.constantFrom('ethernet1/1', 'ethernet1/4') }, { requiredKeys: [] }),
  pfsense: fc.record({ ikeid: fc.integer({ min: 1, max: 65535 }), reqid: fc.integer({ min: 1, max: 2_147_483_647 }), interface: fc.constantFrom('wan', 'opt1') }, { requiredKeys: [] }),
  libreswan: fc.record({ version: fc.constantFrom(4, 5) }, { requiredKeys: [] }),
  strongswan: fc.record({ reqid: fc.integer({ min: 1, max: 2_147_483_647 }) }, { requiredKeys: [] }),
};

function model(format: Vendor, text: string, p: RemoteConfigParams): GrammarProblem[] {
  switch (format) {
    case 'cisco-asa': {
      const outside = p.outside_interface ?? 'outside';
      return checkCiscoAsa(text, { interfaces: [outside, 'inside'], ...(p.crypto_map ? { boundMaps: { [outside]: p.crypto_map } } : {}) });
    }
    case 'fortigate': return checkFortios(text, { interfaces: [p.wan_interface ?? 'wan1'] });
    case 'paloalto': return checkPanos(text, { interfaces: [p.wan_interface ?? 'ethernet1/1'] });
    case 'pfsense': return checkPfsense(text, { interfaces: [p.interface ?? 'wan'] });
    case 'libreswan': return checkLibreswan(text, p.version === 5 ? 5 : 4);
    case 'strongswan': return checkSwanctl(text);
  }
}

describe('property: every valid peer gives a refusal or text the vendor model accepts', () => {
  for (const format of Object.keys(params) as Vendor[]) {
    it(format, () => {
      let written = 0;
      fc.assert(fc.property(peer, params[format], (p, given) => {
        const doc: Config = {
          interfaces: [{ name: 'ccnn0', role: 'ccnn', zone: 'ccnn', addresses: ['100.64.0.2/24'] }],
          zones: [{ name: 'ccnn' }],
          vpn: { peers: [{
            name: p.name, remote: p.remote, ike_version: p.ike_version, auth: { method: 'psk', psk: p.psk },
            ...(p.local_id ? { local_id: p.local_id } : {}), ...(p.remote_id ? { remote_id: p.remote_id } : {}),
            ike_proposals: p.ike_proposals, rekey_time_s: p.rekey_time_s, dpd_delay_s: p.dpd_delay_s, dpd_timeout_s: p.dpd_timeout_s,
            tunnels: p.tunnels.map(([tunnelName, t]) => ({ name: tunnelName, ...t })),
          }] },
        };
        let text: string;
        try {
          text = generateRemoteConfig(doc, p.name, format, { params: given });
        } catch (error) {
          if (error instanceof RemoteConfigError || error instanceof RemoteConfigParamError) return;
          throw error;
        }
        written++;
        expect(model(format, text, given).map((x) => `${x.line}: ${x.message} | ${x.text}`)).toEqual([]);
      }), RUNS);
      // the property must not pass by refusing everything
      expect(written).toBeGreaterThan(RUNS.numRuns / 4);
    });
  }
});
