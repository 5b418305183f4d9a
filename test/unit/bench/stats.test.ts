import { markdownTable, median, quantile, ratio, replaceSection, textTable } from '../../../lib/bench/stats';

describe('bench statistics', () => {
  it.each([
    [[5], 0.5, 5],
    [[3, 1, 2], 0.5, 2],
    [[1, 2, 3, 4], 0.5, 2.5],
    [[10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9, 91],
  ])('quantile of %j at %d is %d', (samples, q, expected) => {
    expect(quantile(samples, q)).toBeCloseTo(expected);
  });

  it('refuses no samples and formats ratios against a baseline', () => {
    expect(() => median([])).toThrow('no samples');
    expect(ratio(30, 10)).toBe('3.00×');
    expect(ratio(1, 0)).toBe('n/a');
  });

  it('renders tables', () => {
    expect(markdownTable(['a', 'b'], [['1', '2']])).toBe('| a | b |\n| --- | --- |\n| 1 | 2 |');
    expect(textTable(['name', 'x'], [['long name', '1']])).toBe('name       x\n---------  -\nlong name  1');
  });

  it('replaces its own section and keeps the others', () => {
    const document = '# Benchmarks\n\nintro\n\n## Bundles\n\nold\n\n## Deploy calls\n\nkept\n';
    expect(replaceSection(document, 'Bundles', 'new')).toBe(
      '# Benchmarks\n\nintro\n\n## Bundles\n\nnew\n\n## Deploy calls\n\nkept\n',
    );
    expect(replaceSection('# Benchmarks\n', 'Bundles', 'first')).toBe('# Benchmarks\n\n## Bundles\n\nfirst\n');
  });
});
