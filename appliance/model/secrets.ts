// Secrets (PSKs, BGP passwords, private keys) are write-only: they are
// stored, but every document that leaves Junction has them masked. A
// document sent back with the mask in place keeps the stored secret, so
// GET -> edit -> PUT round-trips without the client ever seeing it.
import { sharedEnds } from './list-ends.js';

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
 * Returns the paths of masks that had nothing to restore from. Parts that
 * hold no mask are returned as they are (the same objects), so what an
 * edit left alone keeps its identity for the later stages.
 *
 * Frozen parts are not walked: only a committed document is frozen
 * (model/shared-document.ts), and a committed document never holds a mask
 * at a secret key (every one was restored here, or the commit was refused),
 * so an edit of 100k rules walks only what it added.
 */
export function restoreSecrets(incoming: Json, previous: Json): { value: Json; unresolved: string[] } {
  // Most documents carry no mask at all; skip the walk (it matters at 100k rules).
  if (!containsMask(incoming)) return { value: incoming, unresolved: [] };
  const unresolved: string[] = [];
  return { value: restore(incoming, previous, '', 0, unresolved), unresolved };
}

const isSecretMask = (key: string, value: Json) => value === REDACTED && SECRET_KEYS.has(key);
const isMutableObject = (value: Json): value is object => !!value && typeof value === 'object' && !Object.isFrozen(value);

/** Whether a masked secret occurs anywhere outside frozen parts; iterative, so any depth is safe. */
function containsMask(value: Json): boolean {
  const pending: Json[] = isMutableObject(value) ? [value] : [];
  while (pending.length) {
    const next = pending.pop();
    // one push per value: spreading a 100k-item list would exceed the argument limit
    if (Array.isArray(next)) {
      // indexed: for-of is twice as slow over a 100k-item list; of an edited copy of a committed list, only its middle can be new
      const ends = sharedEnds(next);
      for (let i = ends?.head ?? 0; i < next.length - (ends?.tail ?? 0); i++) if (isMutableObject(next[i])) pending.push(next[i]);
      continue;
    }
    // for-in: no entry arrays per record (this walks every new rule of a big commit)
    for (const key in next as object) {
      const item = (next as Record<string, Json>)[key];
      if (isSecretMask(key, item)) return true;
      if (isMutableObject(item)) pending.push(item);
    }
  }
  return false;
}

function restore(incoming: Json, previous: Json, path: string, depth: number, unresolved: string[]): Json {
  if (depth > MAX_SECRET_DEPTH || !isMutableObject(incoming)) return incoming;
  if (Array.isArray(incoming)) {
    const prev = Array.isArray(previous) ? previous : [];
    let index: Map<string, unknown> | undefined;
    let out: Json[] | undefined;
    incoming.forEach((item, i) => {
      if (!isMutableObject(item)) return;
      const key = keyOf(item);
      const counterpart = key !== undefined ? (index ??= indexByKey(prev)).get(key) : prev[i];
      const value = restore(item, counterpart, `${path}/${i}`, depth + 1, unresolved);
      if (value !== item) (out ??= incoming.slice())[i] = value;
    });
    return out ?? incoming;
  }
  const prev = previous && typeof previous === 'object' && !Array.isArray(previous) ? (previous as Record<string, unknown>) : {};
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(incoming)) {
    let value: Json;
    if (isSecretMask(k, v)) {
      if (typeof prev[k] !== 'string') {
        unresolved.push(`${path}/${k}`);
        delete (out ??= { ...incoming })[k];
        continue;
      }
      value = prev[k];
    } else value = restore(v, prev[k], `${path}/${k}`, depth + 1, unresolved);
    if (value !== v) (out ??= { ...incoming })[k] = value;
  }
  return out ?? incoming;
}
