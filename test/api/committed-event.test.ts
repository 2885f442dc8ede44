// Every path that makes a revision (an API write, a rollback, a cancel and
// the confirm timer's revert) goes through the reconciler's committed
// event, so what serve hangs on it (status cache, reconcile timer) never
// misses one. Dry runs and refused commits do not fire it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RevisionSummary } from '../../appliance/core/store.js';
import { waitFor } from '../lab-kit/wait.js';
import { smallConfig, startHarness, type Harness } from './support/harness.js';

describe('the committed event', () => {
  let h: Harness;
  let seen: Array<Pick<RevisionSummary, 'id' | 'source'>>;
  beforeEach(async () => {
    h = await startHarness();
    seen = [];
    h.appliance.reconciler.onCommitted((revision) => seen.push({ id: revision.id, source: revision.source }));
  });
  afterEach(() => h.close());

  const rule = (id: string, query = '') => h.app.inject({ method: 'POST', url: `/v1/firewall/policies/a-to-b/rules${query}`, headers: h.auth(), payload: { id, action: 'accept' } });

  it('fires for API writes and rollbacks, not for dry runs or refused documents', async () => {
    expect((await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: smallConfig() })).statusCode).toBe(200);
    expect((await rule('dns', '?dry_run=true')).statusCode).toBe(200);
    expect((await rule('bad id with spaces')).statusCode).toBe(400);
    expect((await rule('dns')).statusCode).toBe(201);
    expect((await h.app.inject({ method: 'POST', url: '/v1/revisions/1/rollback', headers: h.auth() })).statusCode).toBe(200);
    expect(seen).toEqual([{ id: 1, source: 'api' }, { id: 2, source: 'api' }, { id: 3, source: 'rollback' }]);
  });

  it('fires for a cancel and for the revert the confirm timer makes by itself', async () => {
    expect((await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: smallConfig() })).statusCode).toBe(200);
    expect((await rule('dns', '?confirm_timeout=60')).statusCode).toBe(201);
    expect((await h.app.inject({ method: 'POST', url: '/v1/commit/cancel', headers: h.auth() })).statusCode).toBe(200);
    expect(seen.map((r) => r.source)).toEqual(['api', 'api', 'rollback']);
    expect((await rule('ntp', '?confirm_timeout=1')).statusCode).toBe(201);
    await waitFor('the confirm timer to revert revision 4', async () => seen.length === 5, 10_000);
    expect(seen.at(-1)).toEqual({ id: 5, source: 'rollback' });
    expect(h.appliance.store.currentRevision()!.document.firewall!.policies[0]!.rules.map((r) => r.id)).not.toContain('ntp');
  });
});
