// Secrets (PSKs, BGP passwords, private keys) are write-only: they are
// stored, but every document that leaves Junction has them masked. A
// document sent back with the mask in place keeps the stored secret, so
// GET -> edit -> PUT round-trips without the client ever seeing it.

/** Keys whose values are secrets, wherever they appear in the document. */
export const SECRET_KEYS = new Set(['psk', 'password', 'private_key', 'secret']);
export const REDACTED = '********';

type Json = unknown;

/**
 * No configuration document nests deeper than this (the schema's deepest
 * path is about eight levels); anything deeper is left to validate to
 * reject, and is never walked recursively, so a hostile document (thousands
 * of nested arrays) cannot overflow the stack here.
 */
const MAX_SECRET_DEPTH = 64;

export function redactSecrets<T extends Json>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.has(k) && typeof v === 'string' ? REDACTED : redactSecrets(v);
    return out as T;
  }
  return value;
}

/** Arrays are matched by id or name so that a reordered list keeps its secrets. */
function keyOf(item: unknown): string | undefined {
  if (!item || typeof item !== 'object') return undefined;
  const { id, name } = item as { id?: unknown; name?: unknown };
  return id !== undefined ? `id:${String(id)}` : name !== undefined ? `name:${String(name)}` : undefined;
}

function indexByKey(previous: unknown[]): Map<string, unknown> {
  const index = new Map<string, unknown>();
  for (const item of previous) {
    const key = keyOf(item);
    if (key !== undefined && !index.has(key)) index.set(key, item);
  }
  return index;
}

/**
 * Replaces masked secrets in `incoming` with the values from `previous`.
 * Returns the paths of masks that had nothing to restore from.
 */
export function restoreSecrets(incoming: Json, previous: Json): { value: Json; unresolved: string[] } {
  // Most documents carry no mask at all; skip the walk (it matters at 100k rules).
  if (!containsMask(incoming)) return { value: incoming, unresolved: [] };
  return restore(incoming, previous, '', 0);
}

/** Whether a masked secret occurs anywhere; iterative, so any depth is safe. */
function containsMask(value: Json): boolean {
  const pending: Json[] = [value];
  while (pending.length) {
    const next = pending.pop();
    if (next === REDACTED) return true;
    // one push per value: spreading a 100k-item list would exceed the argument limit
    if (next && typeof next === 'object') for (const item of Object.values(next)) pending.push(item);
  }
  return false;
}

function restore(incoming: Json, previous: Json, path: string, depth: number): { value: Json; unresolved: string[] } {
  if (depth > MAX_SECRET_DEPTH) return { value: incoming, unresolved: [] };
  if (Array.isArray(incoming)) {
    const prev = Array.isArray(previous) ? previous : [];
    const index = indexByKey(prev);
    const unresolved: string[] = [];
    const value = incoming.map((item, i) => {
      const key = keyOf(item);
      const counterpart = key !== undefined ? index.get(key) : prev[i];
      const r = restore(item, counterpart, `${path}/${i}`, depth + 1);
      unresolved.push(...r.unresolved);
      return r.value;
    });
    return { value, unresolved };
  }
  if (incoming && typeof incoming === 'object') {
    const prev = previous && typeof previous === 'object' && !Array.isArray(previous) ? (previous as Record<string, unknown>) : {};
    const unresolved: string[] = [];
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(incoming)) {
      if (SECRET_KEYS.has(k) && v === REDACTED) {
        if (typeof prev[k] === 'string') out[k] = prev[k];
        else unresolved.push(`${path}/${k}`);
        continue;
      }
      const r = restore(v, prev[k], `${path}/${k}`, depth + 1);
      unresolved.push(...r.unresolved);
      out[k] = r.value;
    }
    return { value: out, unresolved };
  }
  return { value: incoming, unresolved: [] };
}
