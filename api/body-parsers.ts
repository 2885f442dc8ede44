// Request bodies: JSON, JSON merge patch (RFC 7396) and YAML, each with a
// bound on nesting depth. Everything downstream (schema validation, secret
// masking, merge patch, diff) walks the document recursively, so a body
// nested thousands deep must be refused here, as a 400, before any of it runs.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parse as parseYaml } from 'yaml';
import { HttpError } from './errors.js';

/** Far deeper than any configuration document (about 8 levels) will ever be. */
export const MAX_NESTING_DEPTH = 64;

const tooDeep = () =>
  new HttpError(400, 'nesting_too_deep', `the body nests objects and arrays deeper than ${MAX_NESTING_DEPTH} levels; no configuration document needs that`, '/');

/**
 * Depth of [ and { in JSON text, strings skipped; stops counting as soon as
 * `limit` is passed. A string is skipped by searching for its closing quote
 * (one after an even run of backslashes), not character by character: most
 * of a big document is strings, and this runs before every JSON body is
 * parsed (12 ms instead of 24 for a 10 MB, 100k-rule document).
 */
export function jsonNestingExceeds(text: string, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (;;) {
        i = text.indexOf('"', i + 1);
        if (i < 0) return false; // an unterminated string: JSON.parse refuses it
        let before = i - 1;
        while (text.charCodeAt(before) === 0x5c) before--;
        if ((i - 1 - before) % 2 === 0) break; // not escaped
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Depth of a parsed value, walked without recursion. */
export function valueNestingExceeds(value: unknown, limit: number): boolean {
  const stack: Array<{ node: unknown; depth: number }> = [{ node: value, depth: 0 }];
  while (stack.length) {
    const { node, depth } = stack.pop()!;
    if (!node || typeof node !== 'object') continue;
    if (depth + 1 > limit) return true;
    for (const child of Object.values(node)) stack.push({ node: child, depth: depth + 1 });
  }
  return false;
}

/**
 * The document path of the first key that could reach an object's
 * prototype (`__proto__`, or `prototype` under `constructor`), which the
 * JSON parser refuses; undefined when there is none. Walked without
 * recursion (the depth is already bounded).
 */
export function prototypeKeyPath(value: unknown): string | undefined {
  const stack: Array<{ node: unknown; path: string; parentKey?: string }> = [{ node: value, path: '' }];
  while (stack.length) {
    const { node, path, parentKey } = stack.pop()!;
    if (!node || typeof node !== 'object') continue;
    for (const key of Object.keys(node)) {
      const here = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (key === '__proto__' || (key === 'prototype' && parentKey === 'constructor')) return here;
      stack.push({ node: (node as Record<string, unknown>)[key], path: here, parentKey: key });
    }
  }
  return undefined;
}

const prototypeKey = (path: string) => new HttpError(400, 'invalid_json', `"${path.split('/').pop()}" is not an accepted key: it could reach an object's prototype`, path);

export function registerBodyParsers(app: FastifyInstance): void {
  // fastify's own parser (it refuses __proto__ and constructor.prototype keys), behind the depth bound.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const boundedJson = (request: FastifyRequest, body: string, done: (error: Error | null, value?: unknown) => void) => {
    if (jsonNestingExceeds(body, MAX_NESTING_DEPTH)) return done(tooDeep());
    parseJson(request, body, (error, value) => {
      if (!error) return done(null, value);
      // Valid JSON refused for a prototype key: name the key's path.
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return done(error);
      }
      const path = prototypeKeyPath(parsed);
      done(path ? prototypeKey(path) : error);
    });
  };
  // Plain text is no document format: refuse it (415) instead of handing a string to the routes.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, boundedJson);

  // A merge patch only makes sense as a PATCH; elsewhere it is refused like any unknown type.
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, (request, body, done) => {
    if (request.method !== 'PATCH') {
      return done(new HttpError(415, 'unsupported_media_type', 'application/merge-patch+json is accepted by PATCH only; send application/json or application/yaml'));
    }
    boundedJson(request, body as string, done);
  });

  app.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml'], { parseAs: 'string' }, (_request, body, done) => {
    let value: unknown;
    try {
      value = parseYaml(body as string);
    } catch (error) {
      // The YAML parser recurses per level; it reports its own stack overflow as resource exhaustion.
      if ((error as { code?: string }).code === 'RESOURCE_EXHAUSTION' && /call stack/.test((error as Error).message)) return done(tooDeep(), undefined);
      return done(new HttpError(400, 'invalid_yaml', `the body is not valid YAML: ${(error as Error).message.split('\n')[0]}`, '/'), undefined);
    }
    if (valueNestingExceeds(value, MAX_NESTING_DEPTH)) return done(tooDeep(), undefined);
    done(null, value);
  });
}
