// What links need from the machine: iproute2 for links and addresses,
// sysctl (procps) for the forwarding switches, and BusyBox's udhcpc for
// interfaces that take their address by DHCP. Run by platform/doctor.ts.
import { IPROUTE2, programRequirement, PROBE_TIMEOUT_MS, type Requirement, type SubsystemRequirements } from '../../platform/requirements.js';

const sysctl = programRequirement({
  id: 'links.sysctl',
  need: 'core',
  what: 'sysctl (procps) reads and sets the forwarding switches',
  packages: ['procps'],
  program: 'sysctl',
  args: ['-n', 'net.ipv4.ip_forward'],
});

/** dhcp-client.ts runs `busybox udhcpc`: the applet must be compiled in. */
const udhcpc: Requirement = {
  id: 'links.udhcpc',
  need: 'feature',
  what: 'BusyBox udhcpc takes an interface address by DHCP',
  packages: ['busybox'],
  async check({ runner }) {
    const result = await runner.run('busybox', ['--list'], { timeoutMs: PROBE_TIMEOUT_MS });
    if (result.code === 127) return { ok: false, detail: 'busybox is not installed' };
    const applets = result.stdout.split('\n').map((l) => l.trim());
    return applets.includes('udhcpc') ? { ok: true, detail: 'busybox has the udhcpc applet' } : { ok: false, detail: 'this busybox has no udhcpc applet' };
  },
};

export const linksRequirements: SubsystemRequirements = {
  subsystem: 'links',
  requirements: [IPROUTE2, sysctl, udhcpc],
};
