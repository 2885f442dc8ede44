// The validator that checks only what changed since the last document it
// passed must decide exactly as the full one, over any sequence of edits,
// commits (frozen) and dry runs, with broken records among the new ones.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigRejected } from '../../appliance/model/problems.js';
import { documentSchema, type Config } from '../../appliance/model/schema.js';
import { editableCopy, freezeDocument } from '../../appliance/model/shared-document.js';
import { sharedValidator } from '../../appliance/model/shared-validate.js';
import { documentValidator } from '../../appliance/model/validate.js';
import { VpnSection } from '../../appliance/subsystems/vpn/schema.js';
import { BgpSection } from '../../appliance/subsystems/bgp/schema.js';
import { DhcpSection } from '../../appliance/subsystems/dhcp/schema.js';
import { fuzzParameters, hostileScalar, validishConfig } from '../support/config-arbitraries.js';

const sections = { vpn: VpnSection, bgp: BgpSection, dhcp: DhcpSection };
const full = documentValidator(sections);

/** What a validator decides: the document, or the problems it names. */
function outcome(validate: (doc: unknown) => Config, doc: unknown) {
  try {
    return { passed: validate(doc) === doc };
  } catch (error) {
    if (error instanceof ConfigRejected) return { problems: error.problems };
    throw error;
  }
}

/** Lists of a document an edit may change in place (not the shared, frozen records). */
function lists(value: unknown): unknown[][] {
  if (!value || typeof value !== 'object' || Object.isFrozen(value)) return [];
  const here = Array.isArray(value) ? [value] : [];
  return [...here, ...Object.values(value).flatMap(lists)];
}

/** Replace, copy in (a record from elsewhere in the document: valid in its own list, maybe not here), insert a broken record, or remove. */
const step = fc.record({
  list: fc.nat(), at: fc.nat(), from: fc.nat(),
  kind: fc.constantFrom('copy', 'broken', 'remove', 'field'),
  value: fc.oneof(hostileScalar, fc.jsonValue({ maxDepth: 2 })),
  commit: fc.boolean(),
});

describe('sharedValidator', () => {
  it('decides as the full validator, over edits of committed documents', () => {
    fc.assert(fc.property(validishConfig(), fc.array(step, { minLength: 1, maxLength: 8 }), (generated, steps) => {
      const schema = documentSchema(sections);
      const validate = sharedValidator(schema, full);
      let current = freezeDocument(structuredClone(generated));
      expect(outcome(validate, current)).toEqual(outcome(full, current));
      for (const s of steps) {
        const copy = editableCopy(schema, current);
        const all = lists(copy);
        if (!all.length) continue;
        const list = all[s.list % all.length];
        const at = list.length ? s.at % list.length : 0;
        const source = all[s.from % all.length];
        if (s.kind === 'copy' && source.length) list.splice(at, 0, source[s.from % source.length]);
        else if (s.kind === 'remove' && list.length) list.splice(at, 1);
        else if (s.kind === 'field' && list.length && list[at] && typeof list[at] === 'object') list[at] = { ...(list[at] as object), [`k${s.from % 3}`]: s.value };
        else list.splice(at, 0, s.value);
        const expected = outcome(full, copy);
        expect(outcome(validate, copy)).toEqual(expected);
        if (s.commit && expected.passed) current = freezeDocument(copy);
        else {
          // a dry run's document is not frozen: changed in place after it passed, it is checked again
          list.splice(at, 0, s.value);
          expect(outcome(validate, copy)).toEqual(outcome(full, copy));
        }
      }
    }), fuzzParameters(150));
  });

  it('a one-rule edit of 10k committed rules checks the new rule only, and refuses it when it is broken', () => {
    const schema = documentSchema(sections);
    const validate = sharedValidator(schema, full);
    const rules = Array.from({ length: 10_000 }, (_, i) => ({ id: `r${i}`, action: 'accept' as const }));
    const committed = freezeDocument(validate({ interfaces: [], zones: [], firewall: { policies: [{ name: 'p', from: 'a', to: 'b', rules }] } }));
    const good = editableCopy(schema, committed);
    good.firewall!.policies[0].rules.splice(3, 0, { id: 'new', action: 'drop' });
    expect(validate(good)).toBe(good);
    const bad = editableCopy(schema, committed);
    bad.firewall!.policies[0].rules.splice(3, 0, { id: 'new', action: 'maybe' } as never);
    expect(outcome(validate, bad)).toEqual(outcome(full, bad));
    expect(outcome(validate, bad).problems?.[0]?.path).toMatch(/^\/firewall\/policies\/0\/rules\/3/);
  });
});
