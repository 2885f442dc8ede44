// One factory for every list-shaped resource of the document (interfaces,
// zones, objects, policies, rules, NAT, routes): list, read, create, replace,
// delete. Each change is an edit of the whole document that goes through
// the same commit pipeline as PUT /v1/config.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import type { Config } from '../../appliance/model/schema.js';
import { redactSecrets } from '../../appliance/model/secrets.js';
import { ErrorResponse, HttpError } from '../errors.js';
import { CommitQuery, CommitResponse, commitDocument, commitResponse, currentDocument, type ApiContext } from '../context.js';

type Item = Record<string, unknown>;
type Params = Record<string, string>;

export interface CollectionSpec {
  /** URL of the list, e.g. "/v1/firewall/policies/:policy/rules" */
  url: string;
  tag: string;
  /** what one item is called in messages */
  noun: string;
  key: 'id' | 'name';
  item: TSchema;
  /** the list inside the document; undefined when its parent does not exist */
  list(doc: Config, params: Params): Item[] | undefined;
  /** where the list sits in the document, for error paths */
  documentPath(doc: Config, params: Params): string;
  /** creates the list (and parents) if absent, and returns it */
  ensure(doc: Config, params: Params): Item[];
  /** the parent's URL params must name something that exists */
  parentMissing?(doc: Config, params: Params): string | undefined;
}

const PositionQuery = {
  type: 'object',
  properties: {
    ...CommitQuery.properties,
    position: { type: 'string', pattern: '^[0-9]+$', description: 'insert at this index (default: append); order matters for rules' },
  },
} as const;

export function registerCollection(app: FastifyInstance, ctx: ApiContext, spec: CollectionSpec): void {
  const itemUrl = `${spec.url}/:${spec.key}`;
  const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse };
  const keyOf = (request: FastifyRequest) => (request.params as Params)[spec.key];

  const listOf = (doc: Config, params: Params) => {
    const missing = spec.parentMissing?.(doc, params);
    if (missing) throw new HttpError(404, 'not_found', missing);
    return spec.list(doc, params) ?? [];
  };
  const indexOf = (items: Item[], key: string, doc: Config, params: Params) => {
    const index = items.findIndex((i) => i[spec.key] === key);
    if (index < 0) throw new HttpError(404, 'not_found', `no ${spec.noun} "${key}"`, `${spec.documentPath(doc, params)}`);
    return index;
  };
  const bodyPath = (request: FastifyRequest) => {
    const doc = currentDocument(ctx);
    const params = request.params as Params;
    const items = spec.list(doc, params) ?? [];
    const key = params[spec.key];
    const index = key === undefined ? items.length : Math.max(0, items.findIndex((i) => i[spec.key] === key));
    return `${spec.documentPath(doc, params)}/${index}`;
  };

  app.get(spec.url, { schema: { tags: [spec.tag], summary: `List ${spec.noun}s`, response: { 401: ErrorResponse, 404: ErrorResponse } } }, async (request) => {
    return { items: redactSecrets(listOf(currentDocument(ctx), request.params as Params)) };
  });

  app.get(itemUrl, { schema: { tags: [spec.tag], summary: `Read one ${spec.noun}`, response: { 401: ErrorResponse, 404: ErrorResponse } } }, async (request) => {
    const doc = currentDocument(ctx);
    const params = request.params as Params;
    const items = listOf(doc, params);
    return redactSecrets(items[indexOf(items, keyOf(request), doc, params)]);
  });

  app.post(spec.url, {
    schema: { tags: [spec.tag], summary: `Create a ${spec.noun}`, body: spec.item, querystring: PositionQuery, response: { 201: CommitResponse, 200: CommitResponse, ...errors } },
    config: { documentPath: bodyPath },
  }, async (request, reply) => {
    const doc = currentDocument(ctx);
    const params = request.params as Params;
    listOf(doc, params);
    const item = request.body as Item;
    const items = spec.ensure(doc, params);
    if (items.some((i) => i[spec.key] === item[spec.key])) {
      throw new HttpError(409, 'conflict', `${spec.noun} "${String(item[spec.key])}" already exists`, `${spec.documentPath(doc, params)}`);
    }
    const position = (request.query as { position?: string }).position;
    const at = position === undefined ? items.length : Math.min(Number(position), items.length);
    items.splice(at, 0, item);
    const outcome = await commitDocument(ctx, request, doc);
    return reply.code(outcome.dryRun ? 200 : 201).send(commitResponse(outcome, { item }));
  });

  app.put(itemUrl, {
    schema: { tags: [spec.tag], summary: `Replace a ${spec.noun}`, body: spec.item, querystring: CommitQuery, response: { 200: CommitResponse, ...errors } },
    config: { documentPath: bodyPath },
  }, async (request) => {
    const doc = currentDocument(ctx);
    const params = request.params as Params;
    const items = listOf(doc, params);
    const index = indexOf(items, keyOf(request), doc, params);
    const item = request.body as Item;
    if (item[spec.key] !== keyOf(request)) {
      throw new HttpError(400, 'invalid_request', `the body's ${spec.key} "${String(item[spec.key])}" differs from the URL's "${keyOf(request)}"`, `${spec.documentPath(doc, params)}/${index}/${spec.key}`);
    }
    items[index] = item;
    return commitResponse(await commitDocument(ctx, request, doc), { item });
  });

  app.delete(itemUrl, {
    schema: { tags: [spec.tag], summary: `Delete a ${spec.noun}`, querystring: CommitQuery, response: { 200: CommitResponse, ...errors } },
  }, async (request) => {
    const doc = currentDocument(ctx);
    const params = request.params as Params;
    const items = listOf(doc, params);
    items.splice(indexOf(items, keyOf(request), doc, params), 1);
    return commitResponse(await commitDocument(ctx, request, doc));
  });
}
