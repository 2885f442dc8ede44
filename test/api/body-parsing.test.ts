// Request bodies: nesting depth is bounded when the body is parsed (JSON and
// YAML), so a deeply nested document is a 400 naming the limit instead of a
// stack overflow deeper in; PATCH takes application/merge-patch+json.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_NESTING_DEPTH, jsonNestingExceeds, valueNestingExceeds } from '../../api/body-parsers.js';
import { json, smallConfig, startHarness, type Harness } from './support/harness.js';

const nested = (depth: number) => `{"interfaces": ${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

describe('nesting depth', () => {
  it('counts brackets outside strings only, escapes included', () => {
    expect(jsonNestingExceeds('[[[]]]', 3)).toBe(false);
    expect(jsonNestingExceeds('[[[[]]]]', 3)).toBe(true);
    expect(jsonNestingExceeds('["[[[[[[", "\\"[[[[[[", {"a": "]]]]"}]', 2)).toBe(false);
    expect(jsonNestingExceeds('[[], [], [[]]]', 3)).toBe(false);
    expect(valueNestingExceeds({ a: [{ b: [] }] }, 4)).toBe(false);
    expect(valueNestingExceeds({ a: [{ b: [[]] }] }, 4)).toBe(true);
    expect(valueNestingExceeds('scalar', 0)).toBe(false);
  });

  it('skips strings exactly as a character-by-character scan does (random texts of brackets, quotes and backslashes)', () => {
    // the definition: inside a string a backslash skips the next character, a quote ends it
    const reference = (text: string, limit: number) => {
      let depth = 0;
      let inString = false;
      for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (inString) {
          if (c === '\\') i++;
          else if (c === '"') inString = false;
        } else if (c === '"') inString = true;
        else if (c === '[' || c === '{') {
          if (++depth > limit) return true;
        } else if (c === ']' || c === '}') depth--;
      }
      return false;
    };
    const alphabet = ['[', ']', '{', '}', '"', '\\', 'a', ','];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let exceeded = 0;
    for (let n = 0; n < 20000; n++) {
      const length = 1 + Math.floor(random() * 40);
      let text = '';
      for (let k = 0; k < length; k++) text += alphabet[Math.floor(random() * alphabet.length)];
      const limit = Math.floor(random() * 4);
      const expected = reference(text, limit);
      if (expected) exceeded++;
      expect(jsonNestingExceeds(text, limit), `${JSON.stringify(text)} limit ${limit}`).toBe(expected);
    }
    expect(exceeded).toBeGreaterThan(1000); // both answers were tried
    expect(exceeded).toBeLessThan(19000);
  });

  describe('through the API', () => {
    let h: Harness;
    beforeEach(async () => { h = await startHarness(); });
    afterEach(() => h.close());

    const put = (payload: string, type = 'application/json') =>
      h.app.inject({ method: 'PUT', url: '/v1/config', headers: { ...h.auth(), 'content-type': type }, payload });

    it('a key that could reach a prototype is a 400 naming its path (fast-check found {"__proto__": false} answered without one)', async () => {
      for (const [payload, path] of [
        ['{"__proto__": false}', '/__proto__'],
        ['{"zones": [], "interfaces": [{"constructor": {"prototype": 1}}]}', '/interfaces/0/constructor/prototype'],
      ] as const) {
        const response = await put(payload);
        expect(response.statusCode, payload).toBe(400);
        expect(response.json(), payload).toMatchObject({ error: 'invalid_json', problems: [{ path }] });
      }
      expect(h.appliance.store.currentRevisionId()).toBeNull();
    });

    it('PUT /v1/config nested 5000 deep (40 KB of JSON) is a 400 that names the limit; nothing runs, nothing is logged as an error', async () => {
      const body = nested(5000);
      expect(body.length).toBeGreaterThan(9_000);
      const big = `{"zones": [], "interfaces": [], "x": ${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
      expect(big.length).toBeGreaterThan(40_000);
      for (const payload of [body, big]) {
        const response = await put(payload);
        expect(response.statusCode).toBe(400);
        expect(response.json()).toMatchObject({ error: 'nesting_too_deep', message: expect.stringContaining(`deeper than ${MAX_NESTING_DEPTH} levels`), problems: [{ path: '/' }] });
      }
      expect(h.runner.transcript()).toEqual([]);
      expect(h.appliance.store.currentRevisionId()).toBeNull();
      expect(h.log.lines.filter((l) => JSON.parse(l).level === 'error')).toEqual([]);
      expect((await h.app.inject({ method: 'GET', url: '/v1/health' })).statusCode).toBe(200);
    });

    it('the same for YAML, in flow and in block style, and for PATCH', async () => {
      const flow = `interfaces: ${'['.repeat(5000)}${']'.repeat(5000)}\nzones: []\n`;
      const block = `zones: []\ninterfaces:\n${Array.from({ length: 200 }, (_, i) => `${'  '.repeat(i + 1)}- `).join('\n')}x\n`;
      const mapping = `a: ${'{x: '.repeat(3000)}1${'}'.repeat(3000)}\n`;
      for (const [name, payload] of [['flow', flow], ['block', block], ['mapping', mapping]]) {
        const response = await put(payload, 'application/yaml');
        expect(response.statusCode, name).toBe(400);
        expect(response.json().error, name).toBe('nesting_too_deep');
      }
      const patch = await h.app.inject({ method: 'PATCH', url: '/v1/config', headers: { ...h.auth(), 'content-type': 'application/merge-patch+json' }, payload: nested(5000) });
      expect(patch.json().error).toBe('nesting_too_deep');
      expect(h.runner.transcript()).toEqual([]);
    });

    it(`${MAX_NESTING_DEPTH} levels still parse (and fail on their content), ${MAX_NESTING_DEPTH + 1} do not`, async () => {
      const atLimit = await put(nested(MAX_NESTING_DEPTH));
      expect(atLimit.statusCode).toBe(400);
      expect(atLimit.json().error).toBe('config_validate_failed');
      expect((await put(nested(MAX_NESTING_DEPTH + 1))).json().error).toBe('nesting_too_deep');
      // A real document is far from the bound.
      expect((await put(JSON.stringify(smallConfig()))).statusCode).toBe(200);
    });
  });
});

describe('PATCH /v1/config with application/merge-patch+json (RFC 7396)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    expect((await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: { ...smallConfig(), system: { hostname: 'old', allow_ping: false } } })).statusCode).toBe(200);
  });
  afterEach(() => h.close());

  const patch = (payload: unknown, type = 'application/merge-patch+json') =>
    h.app.inject({ method: 'PATCH', url: '/v1/config', headers: { ...h.auth(), 'content-type': type }, payload: JSON.stringify(payload) });

  it('merges objects, deletes with null, replaces arrays', async () => {
    const response = await patch({ system: { hostname: 'edge', allow_ping: null }, routes: { static: [{ id: 'office', destination: '192.168.9.0/24', via: '100.64.0.1' }] } });
    expect(response.statusCode).toBe(200);
    expect(response.json().revision.id).toBe(2);
    const config = json(await h.app.inject({ method: 'GET', url: '/v1/config', headers: h.auth() }));
    expect(config.system).toEqual({ hostname: 'edge' });
    expect(config.routes.static.map((r: { id: string }) => r.id)).toEqual(['office']);
    expect(config.firewall.policies[0].rules.map((r: { id: string }) => r.id)).toEqual(['web']);
  });

  it('takes a charset parameter, and application/json still works', async () => {
    expect((await patch({ system: { hostname: 'a' } }, 'application/merge-patch+json; charset=utf-8')).statusCode).toBe(200);
    expect((await patch({ system: { hostname: 'b' } }, 'application/json')).statusCode).toBe(200);
    expect(json(await h.app.inject({ method: 'GET', url: '/v1/config', headers: h.auth() })).system.hostname).toBe('b');
  });

  it('a patch that is not an object, or one that breaks the document, changes nothing', async () => {
    const array = await patch([1, 2]);
    expect(array.statusCode).toBe(400);
    const broken = await patch({ interfaces: null });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().problems.map((p: { path: string }) => p.path)).toContain('/interfaces');
    expect(h.appliance.store.currentRevisionId()).toBe(1);
  });
});
