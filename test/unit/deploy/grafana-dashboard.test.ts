// The shipped Grafana board queries only metrics Junction exposes: every
// junction_* name in its queries is a family (or a histogram's part) of the
// exposition of a fully populated appliance, with at least one series.
// A renamed metric fails here, not on an operator's empty panel.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseExposition } from '../../support/prometheus-text.js';
import { fakeMetrics } from '../metrics/fixture.js';

const board = JSON.parse(readFileSync(new URL('../../../deploy/grafana/junction.json', import.meta.url), 'utf8')) as Record<string, unknown>;

/** Every query string in the board: panel targets, template variables, annotations. */
function queries(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => queries(n, out));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if ((key === 'expr' || key === 'query' || key === 'definition') && typeof value === 'string') out.push(value);
      else queries(value, out);
    }
  }
  return out;
}

interface Panel { id?: number; type: string; targets?: Array<{ refId: string; expr: string }>; gridPos?: unknown }

describe('deploy/grafana/junction.json', () => {
  const exprs = queries(board);
  const names = [...new Set(exprs.flatMap((e) => e.match(/\bjunction_[a-z0-9_]+/g) ?? []))].sort();

  it('queries a metric in every panel', () => {
    const panels = (board.panels as Panel[]).filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThan(20);
    for (const panel of panels) expect(panel.targets?.every((t) => /\bjunction_/.test(t.expr)), JSON.stringify(panel.targets)).toBe(true);
    const ids = (board.panels as Panel[]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect((board.panels as Panel[]).every((p) => p.gridPos)).toBe(true);
  });

  it('queries only metrics that the exposition has, each with series', async () => {
    const exposition = parseExposition(await (await fakeMetrics()).exposition());
    expect(names.length).toBeGreaterThan(30);
    for (const name of names) {
      const family = exposition.types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
      expect(exposition.types.has(family), `${name} is not in the exposition`).toBe(true);
      expect(exposition.all(name).length, `${name} has no series`).toBeGreaterThan(0);
    }
  });

  it('covers every family the exposition has', async () => {
    const exposition = parseExposition(await (await fakeMetrics()).exposition());
    const queried = new Set(names.map((n) => (exposition.types.has(n) ? n : n.replace(/_(bucket|sum|count)$/, ''))));
    expect([...exposition.types.keys()].filter((family) => !queried.has(family))).toEqual([]);
  });
});
