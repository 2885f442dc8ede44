// What static routes need from the machine: iproute2 (shared with links,
// so the doctor checks it once). Run by platform/doctor.ts.
import { IPROUTE2, type SubsystemRequirements } from '../../platform/requirements.js';

export const routesRequirements: SubsystemRequirements = {
  subsystem: 'routes',
  requirements: [IPROUTE2],
};
