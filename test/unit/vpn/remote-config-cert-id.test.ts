// With certificate auth and no local_id, Junction presents its certificate's
// subject DN (charon's default); the generated on-prem config must expect
// exactly that, or the two sides never agree on Junction's identity.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../../appliance/model/schema.js';
import { buildRemoteSite } from '../../../appliance/subsystems/vpn/remote-config/model.js';
import { selfSigned } from '../../support/self-signed.js';

describe('remote config identities with certificates', () => {
  it('expects Junction by its certificate subject when local_id is not set, and by local_id when it is', () => {
    const junction = selfSigned('/C=CH/O=Junction Lab/CN=junction-gw');
    const ca = selfSigned('/C=CH/O=Junction Lab/CN=Lab CA');
    const doc = {
      interfaces: [
        { name: 'ccnn0', role: 'ccnn', zone: 'ccnn', addresses: ['100.64.0.2/24'] },
        { name: 'vpc0', role: 'vpc', zone: 'vpc-a', addresses: ['10.1.0.1/24'] },
      ],
      zones: [{ name: 'ccnn' }, { name: 'vpc-a' }, { name: 'vpn' }],
      vpn: {
        certificates: [
          { name: 'junction', certificate: junction.cert, private_key: junction.key },
          { name: 'lab-ca', certificate: ca.cert },
        ],
        peers: [{
          name: 'onprem', remote: '198.18.1.2', auth: { method: 'cert', certificate: 'junction', ca: 'lab-ca' },
          tunnels: [{ name: 't1', local_subnets: ['10.1.0.0/24'], remote_subnets: ['192.168.50.0/24'] }],
        }],
      },
    } as unknown as Config;
    expect(buildRemoteSite(doc, 'onprem').remoteId).toBe('C=CH, O=Junction Lab, CN=junction-gw');
    (doc.vpn!.peers[0] as { local_id?: string }).local_id = 'gw.junction.example';
    expect(buildRemoteSite(doc, 'onprem').remoteId).toBe('gw.junction.example');
  });
});
