// What Junction needs from the machine: Node itself plus each registered
// subsystem's requirements (main/subsystems.ts), in apply order. `junction
// doctor` and `serve` run the same list through platform/doctor.ts.
import { NODE_VERSION, type SubsystemRequirements } from '../platform/requirements.js';
import { runDoctor, type DoctorReport } from '../platform/doctor.js';
import type { CommandRunner } from '../platform/command-runner.js';
import { SUBSYSTEMS } from './subsystems.js';

export const SUBSYSTEM_REQUIREMENTS: SubsystemRequirements[] = [
  { subsystem: 'platform', requirements: [NODE_VERSION] },
  ...SUBSYSTEMS.flatMap((registered) => (registered.requirements ? [registered.requirements] : [])),
];

/** The first interface other than lo: some kernels refuse flowtables on lo. */
export async function probeDevice(runner: CommandRunner): Promise<string> {
  const out = await runner.run('ip', ['-j', 'link', 'show']);
  let links: Array<{ ifname: string }> = [];
  try {
    links = out.code === 0 ? (JSON.parse(out.stdout) as Array<{ ifname: string }>) : [];
  } catch {
    // an unreadable answer leaves lo; the iproute2 check says what is wrong
  }
  return links.find((l) => l.ifname !== 'lo')?.ifname ?? 'lo';
}

/** Probes the kernel and checks every requirement: the report `doctor` prints and `serve` keeps in its capabilities. */
export async function checkMachine(runner: CommandRunner): Promise<DoctorReport> {
  return runDoctor(SUBSYSTEM_REQUIREMENTS, runner, await probeDevice(runner));
}
