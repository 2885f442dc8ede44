// Validate (TypeBox) in time proportional to what a commit changed. A
// one-rule commit at 100k rules hands validate a document whose other
// 99,999 rules are the committed, frozen records (model/shared-document.ts)
// that passed the same schema before. So the document is checked in two
// parts: its skeleton (everything but the records of record lists, whose
// item schema is replaced by "anything") in full, and of each record list
// only the items that are not, at the same place, the records of the last
// document that passed. Both parts together are exactly the whole schema;
// anything that fails is checked again by the full validator, which
// reports the problems as before.
import { Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { Config } from './schema.js';
import { sharesItems } from './shared-document.js';
import type { Validator } from './validate.js';
import { identicalEnds } from './list-ends.js';

type Json = unknown;
const isRecord = (value: Json): value is Record<string, Json> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The schema with the items of record lists left unchecked. Only lists
 * reached through properties and list items are replaced: under a union
 * the branch that matches is not known, so a union is kept whole.
 */
function skeletonOf(schema: TSchema): TSchema {
  if (schema.anyOf) return schema;
  if (schema.type === 'array' && schema.items && !Array.isArray(schema.items)) {
    return { ...schema, items: sharesItems(schema) ? Type.Unknown() : skeletonOf(schema.items as TSchema) };
  }
  if (schema.type === 'object' && schema.properties) {
    const properties = Object.fromEntries(Object.entries(schema.properties as Record<string, TSchema>).map(([key, child]) => [key, skeletonOf(child)]));
    return { ...schema, properties };
  }
  return schema;
}

/** A validator for `schema` that checks only what differs from the last document it passed; `full` decides everything else. */
export function sharedValidator(schema: TSchema, full: Validator): Validator {
  const skeleton = TypeCompiler.Compile(skeletonOf(schema));
  const itemCheckers = new Map<TSchema, TypeCheck<TSchema>>();
  const itemChecker = (list: TSchema) => {
    let checker = itemCheckers.get(list);
    if (!checker) itemCheckers.set(list, (checker = TypeCompiler.Compile(list.items as TSchema)));
    return checker;
  };

  /** Whether every record-list item of `value` passes, trusting those that are the passed document's records at the same place. */
  const itemsPass = (schema: TSchema, value: Json, passed: Json): boolean => {
    if (schema.anyOf) return true; // checked whole by the skeleton
    if (schema.type === 'array' && Array.isArray(value) && schema.items && !Array.isArray(schema.items)) {
      const before = Array.isArray(passed) ? passed : [];
      if (!sharesItems(schema)) return value.every((item, i) => itemsPass(schema.items as TSchema, item, before[i]));
      const { head, tail } = identicalEnds(before, value);
      const checker = itemChecker(schema);
      for (let i = head; i < value.length - tail; i++) if (!checker.Check(value[i])) return false;
      return true;
    }
    if (schema.type === 'object' && schema.properties && isRecord(value)) {
      const properties = schema.properties as Record<string, TSchema>;
      const before = isRecord(passed) ? passed : {};
      return Object.keys(properties).every((key) => itemsPass(properties[key], value[key], before[key]));
    }
    return true;
  };

  let lastPassed: Json;
  /** the last document that passed and has been committed since: frozen (all the way down), so unchanged since it passed */
  let trusted: Json;
  return (doc: unknown): Config => {
    // A dry run's document passes but is never frozen: the committed one before it stays trusted.
    if (isRecord(lastPassed) && Object.isFrozen(lastPassed)) trusted = lastPassed;
    if (skeleton.Check(doc) && itemsPass(schema, doc, trusted)) {
      lastPassed = doc;
      return doc as Config;
    }
    return full(doc);
  };
}
