// Small helpers shared by lab tests: a root check that explains a skip, a
// unique prefix per test file, and a fixture that always tears the lab down.
import { afterAll, beforeAll } from 'vitest';
import { Lab, type LabOptions, listNamespaces } from '../../lab-kit/lab.js';

export interface RootCheck {
  isRoot: boolean;
  /** why lab tests are skipped, printed once */
  reason: string;
}

/** Lab tests need root (namespaces, veth); without it they skip and say why. */
export function requireRoot(): RootCheck {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const reason = isRoot ? '' : 'lab tests skipped: they create network namespaces and need root (run as root, see appliance/scripts/setup.sh)';
  if (!isRoot) console.warn(reason);
  return { isRoot, reason };
}

/** A prefix no other run uses: `jt<pid><tag>`, at most 16 characters. */
export function uniquePrefix(tag = ''): string {
  return `jt${process.pid}${tag}`.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 16);
}

/** Namespaces that still carry the prefix. */
export async function namespacesWithPrefix(prefix: string): Promise<string[]> {
  return (await listNamespaces()).filter((name) => name.startsWith(`${prefix}-`));
}

/**
 * Brings a lab up in beforeAll and takes it down in afterAll (even when the
 * tests or up() failed). Returns a getter for the running lab.
 */
export function withLab(options: LabOptions & { prefix: string }, enabled = true): () => Lab {
  let lab: Lab | undefined;
  beforeAll(async () => {
    if (!enabled) return;
    await Lab.cleanupStale(options.prefix);
    lab = await Lab.up(options);
  });
  afterAll(async () => {
    if (!enabled) return;
    try {
      await lab?.down();
    } finally {
      // also whatever a failed up() might have left
      await Lab.cleanupStale(options.prefix);
    }
  });
  return () => {
    if (!lab) throw new Error(`lab ${options.prefix} is not up`);
    return lab;
  };
}
