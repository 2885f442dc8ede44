// Committed documents are immutable and shared. A 100k-rule document is
// ~10 MB of JSON; a commit that adds one rule must not parse, copy, check or
// serialize the other 99,999 again. So the document a commit stores is
// deep-frozen, the next edit's copy shares its unchanged records (the same
// objects), and every later stage can rely on identity (a frozen record
// cannot change, so the same object means the same content): the rule
// compiler memoizes per rule, restoreSecrets skips frozen parts, and the
// store finds the delta it writes by identity.
//
// Invariant: a frozen object is frozen all the way down. freezeDocument
// freezes children before their parent, and nothing else in the appliance
// freezes document parts, so `Object.isFrozen(x)` is the O(1) test for "x
// is an immutable committed record".

import type { TSchema } from '@sinclair/typebox';
import { noteCopy, sharedEnds } from './list-ends.js';

type Json = unknown;
const isObject = (value: Json): value is object => typeof value === 'object' && value !== null;

/**
 * The mark of a record freezeDocument froze: frozen all the way down, known
 * without a walk. A non-enumerable symbol: JSON, Object.keys/values and
 * spread copies do not see it, so a copy of a record is not marked. Not a
 * WeakSet: with an entry per rule, the garbage collector's work on it cost
 * more than the walk it saves (100k rules: 0.49 s of check and compile with
 * a WeakSet, 0.41 s with the mark, measured).
 */
const DEEPLY_FROZEN = Symbol('deeply frozen');

/**
 * Deep-freezes a document in place and returns it. Parts already frozen are
 * skipped without being walked, so a document that shares the previous
 * commit's records costs O(its new parts). Documents are validated before
 * they are committed, so their depth is small and recursion is safe.
 */
export function freezeDocument<T>(document: T): T {
  if (!isObject(document) || Object.isFrozen(document)) return document;
  // a list is walked in place (indexed: Object.values would copy a 100k-item list first, for-of is slower)
  if (Array.isArray(document)) {
    // an edited copy of a committed list: only its middle can hold unfrozen items
    const ends = sharedEnds(document);
    for (let i = ends?.head ?? 0; i < document.length - (ends?.tail ?? 0); i++) {
      const item: unknown = document[i];
      // the check inline: most items of a big list are committed records, already frozen
      if (isObject(item) && !Object.isFrozen(item)) freezeDocument(item);
    }
  } else {
    // for-in: no array per record (3 times faster than Object.values over 100k records); JSON records have no inherited keys
    for (const key in document) freezeDocument((document as Record<string, unknown>)[key]);
    Object.defineProperty(document, DEEPLY_FROZEN, { value: true });
  }
  return Object.freeze(document);
}

/**
 * Whether `value` can never change: a record freezeDocument froze (O(1)),
 * or anything else frozen all the way down (walked). The rule compiler
 * keys its cache by identity only on such values; a shallow Object.freeze
 * by anyone else is not enough.
 */
export function isDeepFrozen(value: unknown): boolean {
  if (!isObject(value)) return true;
  if ((value as { [DEEPLY_FROZEN]?: boolean })[DEEPLY_FROZEN] === true && Object.isFrozen(value)) return true;
  if (!Object.isFrozen(value)) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isDeepFrozen(value[i])) return false;
    return true;
  }
  for (const key in value) if (!isDeepFrozen((value as Record<string, unknown>)[key])) return false;
  return true;
}

/**
 * Whether the items of lists of this schema are records an edit copy may
 * share: records whose every list holds strings, numbers or booleans
 * (firewall and NAT rules, routes, address and service objects,
 * interfaces, zones, tunnels, reservations, certificates...). Edits change
 * such records only by replacing them in their list, never in place. A
 * record holding a list of records (a policy's rules, a VPN peer's tunnels,
 * a DHCP server's reservations, a BGP neighbor's prefixes) is copied,
 * because an edit of the inner list changes it. Decided by the schema, not
 * by content: an empty or absent inner list is still a list an edit may
 * create or append to. Memoized: the schema is fixed.
 */
export function sharesItems(list: TSchema): boolean {
  let known = sharedItemLists.get(list);
  if (known === undefined) {
    const item = list.items as TSchema | undefined;
    known = !!item && !Array.isArray(item) && item.type === 'object' && !mayHoldRecordList(item);
    sharedItemLists.set(list, known);
  }
  return known;
}
const sharedItemLists = new WeakMap<TSchema, boolean>();

/** Whether a value of this schema may contain, at any depth, a list that holds objects or anything untyped. */
function mayHoldRecordList(schema: TSchema): boolean {
  if (schema.type === 'array') {
    const item = schema.items as TSchema | undefined;
    return !item || Array.isArray(item) || !isScalar(item);
  }
  const children = [
    ...Object.values((schema.properties ?? {}) as Record<string, TSchema>),
    ...((schema.anyOf ?? []) as TSchema[]),
    ...(typeof schema.additionalProperties === 'object' ? [schema.additionalProperties as TSchema] : []),
  ];
  return !!schema.patternProperties || children.some(mayHoldRecordList);
}

const SCALAR_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null']);
const isScalar = (schema: TSchema): boolean =>
  schema.anyOf ? (schema.anyOf as TSchema[]).every(isScalar) : SCALAR_TYPES.has(schema.type as string) || schema.const !== undefined;

/**
 * A copy of a committed (frozen) document for one edit: every object and
 * list is new, since an edit may add, remove, replace or reorder anywhere
 * and change any section object; the items of record lists (above) are the
 * committed records themselves. A list of 100k rules costs one slice, not
 * a parse of its text. Where the schema says nothing (a value inside a
 * union, an unknown key) the copy is deep: never wrong, only less shared.
 */
export function editableCopy<T>(schema: TSchema | undefined, value: T): T {
  if (Array.isArray(value)) {
    // spread, not slice(): V8's slice of a frozen array takes its slow path (several times slower at 100k items)
    if (schema && sharesItems(schema) && Object.isFrozen(value)) {
      const copy = [...value];
      noteCopy(copy, value);
      return copy as T;
    }
    const items = schema?.items as TSchema | undefined;
    return value.map((item: Json) => editableCopy(items, item)) as T;
  }
  if (!isObject(value)) return value;
  const properties = schema?.anyOf ? undefined : (schema?.properties as Record<string, TSchema> | undefined);
  const copy: Record<string, Json> = {};
  for (const [key, child] of Object.entries(value)) copy[key] = editableCopy(properties?.[key], child);
  return copy as T;
}
