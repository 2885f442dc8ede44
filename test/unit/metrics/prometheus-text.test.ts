// The strict exposition reader the metrics tests rely on: it must reject
// what Prometheus would, or the format checks prove nothing.
import { describe, expect, it } from 'vitest';
import { parseExposition } from '../../support/prometheus-text.js';

const good = '# HELP a_total A counter.\n# TYPE a_total counter\na_total{x="1",y="q\\"uote"} 3\n# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1.5\nh_count 2\n';

describe('parseExposition', () => {
  it('reads samples, labels (unescaped) and histogram parts', () => {
    const m = parseExposition(good);
    expect(m.value('a_total', { x: '1' })).toBe(3);
    expect(m.all('a_total')[0]!.labels.y).toBe('q"uote');
    expect(m.value('h_bucket', { le: '+Inf' })).toBe(2);
    expect(m.types.get('h')).toBe('histogram');
  });

  it.each([
    ['a sample before its TYPE', 'b 1\n'],
    ['an unquoted label value', '# TYPE b gauge\nb{x=1} 1\n'],
    ['a bad value', '# TYPE b gauge\nb 1,5\n'],
    ['a series twice', '# TYPE b gauge\nb{x="1"} 1\nb{x="1"} 2\n'],
    ['a bad metric name', '# TYPE 1b gauge\n'],
    ['an unknown type', '# TYPE b thing\n'],
    ['a stray comment', '# hello\n'],
    ['no final newline', '# TYPE b gauge\nb 1'],
    ['a _sum of a gauge', '# TYPE b gauge\nb_sum 1\n'],
  ])('rejects %s', (_, text) => {
    expect(() => parseExposition(text)).toThrow();
  });
});
