// The smallest document a firewall test needs: two VPC interfaces in zones
// a and b, and one policy a-to-b holding `rules`.
import type { Config, FirewallRule } from '../../appliance/model/schema.js';

export const onePolicyConfig = (rules: FirewallRule[]): Config => ({
  interfaces: [
    { name: 'vpc0', role: 'vpc', zone: 'a', addresses: ['10.1.0.1/16'] },
    { name: 'vpc1', role: 'vpc', zone: 'b', addresses: ['10.2.0.1/16'] },
  ],
  zones: [{ name: 'a' }, { name: 'b' }],
  firewall: { policies: [{ name: 'a-to-b', from: 'a', to: 'b', rules }] },
});
