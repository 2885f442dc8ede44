// Runs the subsystems' requirement declarations (requirements.ts) and says
// plainly what is missing and which Debian package to install. The same
// report serves `junction doctor` (text or --json), `serve` start (log and
// /v1/status capabilities) and setup.sh (fails when anything is missing).
import type { CommandRunner } from './command-runner.js';
import { probeCapabilities, type Capabilities } from './capabilities.js';
import type { CheckResult, Need, Requirement, SubsystemRequirements } from './requirements.js';

export interface CheckOutcome {
  id: string;
  subsystems: string[];
  need: Need;
  what: string;
  ok: boolean;
  detail: string;
  /** on failure: the Debian packages to install */
  install?: string[];
  /** on failure: one line saying what is wrong and what to do */
  message?: string;
}

export interface MissingRequirement {
  id: string;
  need: Need;
  message: string;
}

export interface DoctorReport {
  /** every check passed */
  ok: boolean;
  /** a core check failed: Junction cannot program this machine at all */
  coreMissing: boolean;
  checks: CheckOutcome[];
  capabilities: Capabilities;
}

const CHECK_TIMEOUT_MS = 30_000;

/** One line an operator can act on. */
export function missingMessage(outcome: Pick<CheckOutcome, 'what' | 'detail' | 'subsystems' | 'need'>, packages: string[]): string {
  const consequence = outcome.need === 'core' ? 'Junction cannot run without it' : `${outcome.subsystems.join(', ')} cannot work without it`;
  return `${outcome.what}: NO (${outcome.detail}); ${consequence}. Install the Debian package${packages.length > 1 ? 's' : ''} ${packages.join(' ')} (apt-get install --no-install-recommends ${packages.join(' ')})`;
}

/** A check that throws or hangs fails with that as its detail; it never takes the doctor down. */
async function runCheck(requirement: Requirement, runner: CommandRunner, capabilities: Capabilities): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS / 1000} s`)), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([requirement.check({ runner, capabilities }), timeout]);
  } catch (error) {
    return { ok: false, detail: `check failed: ${(error as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Probes the kernel's capabilities, then checks every requirement once
 * (subsystems that share one, such as iproute2, name the same id), in
 * declaration order so the report reads the same on every machine.
 */
export async function runDoctor(declarations: SubsystemRequirements[], runner: CommandRunner, probeDevice = 'lo'): Promise<DoctorReport> {
  const capabilities = await probeCapabilities(runner, declarations.flatMap((d) => (d.capabilities ? [d.capabilities] : [])), probeDevice);
  const byId = new Map<string, { requirement: Requirement; subsystems: string[] }>();
  for (const declaration of declarations) {
    for (const requirement of declaration.requirements) {
      const seen = byId.get(requirement.id);
      if (seen) seen.subsystems.push(declaration.subsystem);
      else byId.set(requirement.id, { requirement, subsystems: [declaration.subsystem] });
    }
  }
  const checks: CheckOutcome[] = [];
  for (const { requirement, subsystems } of byId.values()) {
    const result = await runCheck(requirement, runner, capabilities);
    const outcome: CheckOutcome = { id: requirement.id, subsystems, need: requirement.need, what: requirement.what, ok: result.ok, detail: result.detail };
    if (!result.ok) {
      const install = result.packages?.length ? result.packages : requirement.packages;
      outcome.install = install;
      outcome.message = missingMessage(outcome, install);
    }
    checks.push(outcome);
  }
  const missing: MissingRequirement[] = checks.filter((c) => !c.ok).map((c) => ({ id: c.id, need: c.need, message: c.message! }));
  return {
    ok: missing.length === 0,
    coreMissing: missing.some((m) => m.need === 'core'),
    checks,
    capabilities: { ...capabilities, missing },
  };
}

/** The report as `junction doctor` prints it. */
export function formatDoctorReport(report: DoctorReport): string {
  const lines: string[] = [];
  for (const check of report.checks) {
    lines.push(`${check.ok ? 'ok  ' : 'FAIL'}  ${check.subsystems.join(',').padEnd(16)} ${check.what}`);
    lines.push(`      ${check.detail}`);
    if (!check.ok) lines.push(`      install: apt-get install --no-install-recommends ${check.install!.join(' ')}`);
  }
  for (const note of report.capabilities.notes) lines.push(`note  kernel           ${note}`);
  const failed = report.checks.filter((c) => !c.ok);
  if (failed.length === 0) lines.push(`all ${report.checks.length} checks passed`);
  else {
    const packages = [...new Set(failed.flatMap((c) => c.install ?? []))];
    lines.push(`${failed.length} of ${report.checks.length} checks failed; install: ${packages.join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}
