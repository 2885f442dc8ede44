// Optimistic concurrency: the revision number is the document's ETag. Every
// read of the document or a part of it carries `ETag: "<revision>"`; a write
// may carry `If-Match: "<revision>"` and is then refused with 412 unless the
// document is still at that revision when its turn in the commit queue comes.
import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

/** "0" stands for "no revision yet". */
export const etagOf = (revision: number | null): string => `"${revision ?? 0}"`;

export const IF_MATCH_HELP =
  'If-Match: "<revision>" (the ETag of a read) makes this write happen only if the document is still at that revision; otherwise 412 revision_mismatch and nothing changes. "*" means "any revision, but there must be one".';

export const READ_ETAG_HELP = 'The answer carries ETag: "<revision>", the revision it was read from; send it back as If-Match on a write to make sure nobody changed the document in between.';

/** The header, documented on every write route (validated by ifMatchOf). */
export const WriteHeaders = {
  type: 'object',
  properties: { 'if-match': { type: 'string', maxLength: 1024, description: IF_MATCH_HELP } },
} as const;

export interface Precondition {
  /** "*": any existing revision */
  any: boolean;
  revisions: number[];
}

/** The If-Match header of a write; undefined when there is none. */
export function ifMatchOf(request: FastifyRequest): Precondition | undefined {
  const header = request.headers['if-match'];
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  if (text.trim() === '*') return { any: true, revisions: [] };
  const revisions: number[] = [];
  for (const part of text.split(',')) {
    const tag = /^\s*"(0|[1-9][0-9]{0,15})"\s*$/.exec(part);
    if (!tag) {
      throw new HttpError(400, 'invalid_request', `If-Match must be "*" or revision ETags as GET returns them, e.g. "12" with the quotes; got ${JSON.stringify(text.slice(0, 64))}`, '(headers)/if-match');
    }
    revisions.push(Number(tag[1]));
  }
  return { any: false, revisions };
}

/** Throws 412 unless the precondition holds for the revision the document is at now. */
export function checkPrecondition(precondition: Precondition | undefined, current: number | null): void {
  if (!precondition) return;
  if (precondition.any ? current !== null : precondition.revisions.includes(current ?? 0)) return;
  const wanted = precondition.any ? 'any revision' : precondition.revisions.map((r) => `revision ${r}`).join(' or ');
  throw new HttpError(
    412,
    'revision_mismatch',
    `the document is at ${current === null ? 'no revision yet' : `revision ${current}`}, not ${wanted} (If-Match); someone committed in between: read it again, reapply your change and send the new ETag`,
    '(headers)/if-match',
    { current_revision: current },
  );
}
