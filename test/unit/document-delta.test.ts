// A revision stored as a delta must read back as exactly the committed
// document: the same JSON text, byte for byte (key order included), for any
// pair of documents, and small for the edits the API makes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyDelta, deltaExceeds, documentDelta } from '../../appliance/model/document-delta.js';
import { documentSchema, type Config } from '../../appliance/model/schema.js';
import { editableCopy, freezeDocument } from '../../appliance/model/shared-document.js';
import { fuzzParameters, validishConfig } from '../support/config-arbitraries.js';

const RUNS = fuzzParameters(200);

/** What the store does: the parent as parsed from its text, the delta as parsed from its text. */
function readBack(before: unknown, after: unknown): string {
  const delta = JSON.parse(JSON.stringify(documentDelta(before, after)));
  return JSON.stringify(applyDelta(JSON.parse(JSON.stringify(before)), delta));
}

type Edit = (doc: any) => void;

/** Every object and list of a document that an edit may change in place (not the shared, frozen records). */
function containers(value: unknown): any[] {
  if (!value || typeof value !== 'object' || Object.isFrozen(value)) return [];
  return [value, ...Object.values(value).flatMap(containers)];
}

/** One change an edit may make somewhere in its copy: replace, delete or add a key, reorder keys, insert into or remove from a list. */
const edit: fc.Arbitrary<Edit> = fc
  .tuple(fc.nat(), fc.nat(), fc.constantFrom('replace', 'delete', 'add', 'reorder', 'insert', 'remove'), fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 6 }))
  .map(([which, at, kind, value, key]): Edit => (doc) => {
    const all = containers(doc);
    const target = all[which % all.length];
    if (Array.isArray(target)) {
      const index = target.length ? at % target.length : 0;
      if (kind === 'remove' && target.length) target.splice(index, 1);
      else if (kind === 'replace' && target.length) target[index] = value;
      else target.splice(index, 0, value);
      return;
    }
    const keys = Object.keys(target);
    const existing = keys.length ? keys[at % keys.length] : key;
    if (kind === 'delete') delete target[existing];
    else if (kind === 'replace') target[existing] = value;
    else if (kind === 'reorder') {
      const entries = Object.entries(target);
      for (const [k] of entries) delete target[k];
      for (const [k, v] of entries.reverse()) target[k] = v;
    } else target[key] = value;
  });

describe('documentDelta + applyDelta', () => {
  it('reads back any document from any other, byte for byte', () => {
    fc.assert(fc.property(validishConfig(), validishConfig(), (before, after) => {
      expect(readBack(before, after)).toBe(JSON.stringify(after));
    }), RUNS);
  });

  it('reads back an edit of a committed document (shared records, changed lists, keys added, deleted and reordered)', () => {
    const schema = documentSchema();
    fc.assert(fc.property(validishConfig(), fc.array(edit, { minLength: 1, maxLength: 4 }), (generated, edits) => {
      const committed = freezeDocument(structuredClone(generated));
      const copy = editableCopy(schema, committed);
      for (const change of edits) change(copy);
      expect(readBack(committed, copy)).toBe(JSON.stringify(copy));
    }), RUNS);
  });

  it('reads back arbitrary JSON, with keys such as __proto__ and constructor', () => {
    const record = fc.dictionary(fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('__proto__', 'constructor', 'toString')), fc.jsonValue({ maxDepth: 3 }));
    fc.assert(fc.property(record, record, (before, after) => {
      const parsed = [JSON.parse(JSON.stringify(before)), JSON.parse(JSON.stringify(after))];
      expect(readBack(parsed[0], parsed[1])).toBe(JSON.stringify(parsed[1]));
    }), RUNS);
    expect(readBack(JSON.parse('{"a":1}'), JSON.parse('{"a":1,"__proto__":{"x":2}}'))).toBe('{"a":1,"__proto__":{"x":2}}');
  });

  it('a one-rule insert or delete among 10k shared rules is one splice of one rule', () => {
    const rules = Array.from({ length: 10_000 }, (_, i) => ({ id: `r${i}`, action: 'accept' as const, services: [`tcp/${i + 1}`] }));
    const committed: Config = freezeDocument({ interfaces: [], zones: [], firewall: { policies: [{ name: 'p', from: 'a', to: 'b', rules }] } } as Config);
    const added = editableCopy(documentSchema(), committed);
    added.firewall!.policies[0].rules.splice(5000, 0, { id: 'new', action: 'drop' });
    expect(documentDelta(committed, added)).toEqual([['splice', ['firewall', 'policies', 0, 'rules'], 5000, 0, [{ id: 'new', action: 'drop' }]]]);
    const removed = editableCopy(documentSchema(), committed);
    removed.firewall!.policies[0].rules.splice(7, 1);
    expect(documentDelta(committed, removed)).toEqual([['splice', ['firewall', 'policies', 0, 'rules'], 7, 1, []]]);
    expect(documentDelta(committed, editableCopy(documentSchema(), committed))).toEqual([]);
  });

  it('keys whose value is undefined are left out, as JSON leaves them out', () => {
    expect(readBack({ a: 1, b: 2 }, { a: 1, b: undefined, c: undefined })).toBe('{"a":1}');
    expect(readBack({ a: [1, 2] }, { a: [1, undefined, 2] })).toBe('{"a":[1,null,2]}');
  });
});

describe('deltaExceeds', () => {
  it('counts the values a delta carries, stopping past the limit', () => {
    const rules = Array.from({ length: 1_000 }, (_, i) => ({ id: `r${i}`, action: 'accept' }));
    const small = documentDelta({ rules }, { rules: [{ id: 'new', action: 'drop' }, ...rules] });
    expect(deltaExceeds(small, 10)).toBe(false);
    const whole = documentDelta({ rules: [] }, { rules });
    expect(deltaExceeds(whole, 2_000)).toBe(true);
    expect(deltaExceeds(whole, 4_000)).toBe(false);
    expect(deltaExceeds(documentDelta({ a: 1 }, { a: 2 }), 1)).toBe(false);
  });
});
