// Secrets (PSKs, BGP passwords, private keys) are write-only: they are
// stored, but every document that leaves Junction has them masked. A
// document sent back with the mask in place keeps the stored secret, so
// GET -> edit -> PUT round-trips without the client ever seeing it.

/** Keys whose values are secrets, wherever they appear in the document. */
export const SECRET_KEYS = new Set(['psk', 'password', 'private_key', 'secret']);
export const REDACTED = '********';

type Json = unknown;

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
function counterpart(previous: unknown[], item: unknown, index: number): unknown {
  if (item && typeof item === 'object') {
    const { id, name } = item as { id?: unknown; name?: unknown };
    const match = previous.find((p) => p && typeof p === 'object' && ((id !== undefined && (p as { id?: unknown }).id === id) || (id === undefined && name !== undefined && (p as { name?: unknown }).name === name)));
    if (match) return match;
    if (id !== undefined || name !== undefined) return undefined;
  }
  return previous[index];
}

/**
 * Replaces masked secrets in `incoming` with the values from `previous`.
 * Returns the paths of masks that had nothing to restore from.
 */
export function restoreSecrets(incoming: Json, previous: Json, path = ''): { value: Json; unresolved: string[] } {
  if (Array.isArray(incoming)) {
    const prev = Array.isArray(previous) ? previous : [];
    const unresolved: string[] = [];
    const value = incoming.map((item, i) => {
      const r = restoreSecrets(item, counterpart(prev, item, i), `${path}/${i}`);
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
      const r = restoreSecrets(v, prev[k], `${path}/${k}`);
      unresolved.push(...r.unresolved);
      out[k] = r.value;
    }
    return { value: out, unresolved };
  }
  return { value: incoming, unresolved: [] };
}
