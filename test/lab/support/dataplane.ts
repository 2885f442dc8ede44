// Which IPsec data plane the VPN lab tests expect: the one Junction's own
// probe finds on this kernel (vpn/dataplane.ts). `npm run test:xfrm` runs
// them in a guest with kernel XFRM and sets JUNCTION_EXPECT_DATAPLANE=xfrm,
// so that a silent fall back to libipsec there fails instead of passing.
import { SystemCommandRunner } from '../../../appliance/platform/command-runner.js';
import { detectDataplane, type Dataplane } from '../../../appliance/subsystems/vpn/dataplane.js';
import { tunnelInterfaceFor } from '../../../appliance/subsystems/vpn/render.js';

export interface LabDataplane {
  dataplane: Dataplane;
  /** where decrypted traffic enters and leaves: xfrm0 or ipsec0 */
  tunnelInterface: string;
}

export async function labDataplane(): Promise<LabDataplane> {
  const choice = await detectDataplane(new SystemCommandRunner());
  const expected = process.env.JUNCTION_EXPECT_DATAPLANE;
  if (expected && expected !== choice.dataplane) {
    throw new Error(`JUNCTION_EXPECT_DATAPLANE=${expected}, but this kernel gives ${choice.dataplane} (${choice.reason})`);
  }
  console.log(`[lab] IPsec data plane: ${choice.dataplane} (${choice.reason})`);
  return { dataplane: choice.dataplane, tunnelInterface: tunnelInterfaceFor(choice.dataplane) };
}
