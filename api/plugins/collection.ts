// One factory for every list-shaped resource of the document (interfaces,
// zones, objects, policies, rules, NAT, routes): list, read, create, replace,
// delete. Each change is an edit of the whole document, made inside the
// commit queue, through the same pipeline as PUT /v1/config.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { emptyConfig, type Config } from '../../appliance/model/schema.js';
import { redactSecrets } from '../../appliance/model/secrets.js';
import { spliceEdited } from '../../appliance/model/list-ends.js';
import { ErrorResponse, HttpError } from '../errors.js';
import { CommitQuery, CommitResponse, commitResponse, editDocument, readDocument, type ApiContext } from '../context.js';
import { IF_MATCH_HELP, READ_ETAG_HELP, WriteHeaders } from '../revision-tags.js';

type Item = Record<string, unknown>;
type Params = Record<string, string>;

export interface CollectionSpec {
  /** URL of the list, e.g. "/v1/firewall/policies/:policy/rules" */
  url: string;
  tag: string;
  /** what one item is called in messages */
  noun: string;
  /** the field that names an item in the list and in the item's URL (id, name; interface and mac for DHCP servers and reservations) */
  key: string;
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
  const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 412: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse };
  const keyOf = (request: FastifyRequest) => (request.params as Params)[spec.key];

  const listOf = (doc: Config, params: Params) => {
    const missing = spec.parentMissing?.(doc, params);
    if (missing) throw new HttpError(404, 'not_found', missing);
    return spec.list(doc, params) ?? [];
  };
  /** The index of the item named `key`, or -1 (a loop: findIndex is several times slower on a 100k-rule list). */
  const indexByKey = (items: readonly Item[], key: unknown) => {
    for (let i = 0; i < items.length; i++) if (items[i][spec.key] === key) return i;
    return -1;
  };
  const indexOf = (items: Item[], key: string, doc: Config, params: Params) => {
    const index = indexByKey(items, key);
    if (index < 0) throw new HttpError(404, 'not_found', `no ${spec.noun} "${key}"`, `${spec.documentPath(doc, params)}`);
    return index;
  };
  // Only for naming a field in a 400 from schema validation, which runs
  // before the handler: the list may move by the time the edit runs.
  const bodyPath = (request: FastifyRequest) => {
    const doc = ctx.store.currentRevision()?.document ?? emptyConfig();
    const params = request.params as Params;
    const items = spec.list(doc, params) ?? [];
    const key = params[spec.key];
    const index = key === undefined ? items.length : Math.max(0, indexByKey(items, key));
    return `${spec.documentPath(doc, params)}/${index}`;
  };
  const writeSchema = { tags: [spec.tag], headers: WriteHeaders, description: IF_MATCH_HELP };

  app.get(spec.url, { schema: { tags: [spec.tag], summary: `List ${spec.noun}s`, description: READ_ETAG_HELP, response: { 401: ErrorResponse, 404: ErrorResponse } } }, async (request, reply) => {
    return { items: redactSecrets(listOf(readDocument(ctx, reply), request.params as Params)) };
  });

  app.get(itemUrl, { schema: { tags: [spec.tag], summary: `Read one ${spec.noun}`, description: READ_ETAG_HELP, response: { 401: ErrorResponse, 404: ErrorResponse } } }, async (request, reply) => {
    const doc = readDocument(ctx, reply);
    const params = request.params as Params;
    const items = listOf(doc, params);
    return redactSecrets(items[indexOf(items, keyOf(request), doc, params)]);
  });

  app.post(spec.url, {
    schema: { ...writeSchema, summary: `Create a ${spec.noun}`, body: spec.item, querystring: PositionQuery, response: { 201: CommitResponse, 200: CommitResponse, ...errors } },
    config: { documentPath: bodyPath },
  }, async (request, reply) => {
    const params = request.params as Params;
    const item = request.body as Item;
    const outcome = await editDocument(ctx, request, reply, (doc) => {
      listOf(doc, params);
      const items = spec.ensure(doc, params);
      if (indexByKey(items, item[spec.key]) >= 0) {
        throw new HttpError(409, 'conflict', `${spec.noun} "${String(item[spec.key])}" already exists`, `${spec.documentPath(doc, params)}`);
      }
      const position = (request.query as { position?: string }).position;
      const at = position === undefined ? items.length : Math.min(Number(position), items.length);
      // one splice of the committed list's copy, recorded: the commit's stages need not scan 100k rules to find it
      spliceEdited(items, at, 0, item);
      return doc;
    });
    return reply.code(outcome.dryRun ? 200 : 201).send(commitResponse(outcome, { item }));
  });

  app.put(itemUrl, {
    schema: { ...writeSchema, summary: `Replace a ${spec.noun}`, body: spec.item, querystring: CommitQuery, response: { 200: CommitResponse, ...errors } },
    config: { documentPath: bodyPath },
  }, async (request, reply) => {
    const params = request.params as Params;
    const item = request.body as Item;
    const outcome = await editDocument(ctx, request, reply, (doc) => {
      const items = listOf(doc, params);
      const index = indexOf(items, keyOf(request), doc, params);
      if (item[spec.key] !== keyOf(request)) {
        throw new HttpError(400, 'invalid_request', `the body's ${spec.key} "${String(item[spec.key])}" differs from the URL's "${keyOf(request)}"`, `${spec.documentPath(doc, params)}/${index}/${spec.key}`);
      }
      spliceEdited(items, index, 1, item);
      return doc;
    });
    return commitResponse(outcome, { item });
  });

  app.delete(itemUrl, {
    schema: { ...writeSchema, summary: `Delete a ${spec.noun}`, querystring: CommitQuery, response: { 200: CommitResponse, ...errors } },
  }, async (request, reply) => {
    const params = request.params as Params;
    const outcome = await editDocument(ctx, request, reply, (doc) => {
      const items = listOf(doc, params);
      spliceEdited(items, indexOf(items, keyOf(request), doc, params), 1);
      return doc;
    });
    return commitResponse(outcome);
  });
}
