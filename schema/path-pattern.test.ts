import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { compilePattern, RuleTable, stepsMatch, type Step } from './path-pattern.js';

/** What RuleTable must agree with: the first row, in order, whose pattern matches. */
function firstByScan<T>(rows: ReadonlyArray<readonly [string, T]>, path: readonly Step[]): T | undefined {
  return rows.find(([p]) => stepsMatch(path, compilePattern(p)))?.[1];
}

describe('RuleTable', () => {
  const rows: Array<readonly [string, string]> = [
    ['services.*.ulimits.*', 'ulimit'],
    ['services.*.ulimits.*.hard', 'hard'],
    ['services.*.scale', 'scale'],
    ['services.*.*', 'any service key'],
    ['services.*.volumes[].read_only', 'ro'],
    ['services.*.ports[]', 'port'],
    ['networks.*.external', 'external'],
  ];
  const table = new RuleTable(rows);

  it('finds the first matching row, a named last key and a wildcard alike', () => {
    expect(table.find(['services', 'web', 'scale'])).toBe('scale');
    expect(table.find(['services', 'web', 'tty'])).toBe('any service key');
    expect(table.find(['services', 'web', 'ulimits', 'nofile'])).toBe('ulimit');
    expect(table.find(['services', 'web', 'ulimits', 'nofile', 'hard'])).toBe('hard');
    expect(table.find(['services', 'web', 'volumes', 0, 'read_only'])).toBe('ro');
    expect(table.find(['services', 'web', 'ports', 2])).toBe('port');
    expect(table.find(['services', 'web', 'ports', 'x'])).toBeUndefined();
    expect(table.find(['volumes', 'data', 'external'])).toBeUndefined();
    expect(table.find([])).toBeUndefined();
  });

  it('keeps row order when a wildcard row comes before a named one', () => {
    const t = new RuleTable([
      ['a.*', 'wild'],
      ['a.b', 'named'],
    ]);
    expect(t.find(['a', 'b'])).toBe('wild');
  });

  it('agrees with a scan of the rows in order on random patterns and paths', () => {
    const key = fc.constantFrom('a', 'b', 'c');
    const patternStep = fc.oneof(key, fc.constant('*'), fc.constant('[]'));
    const pattern = fc.array(patternStep, { minLength: 1, maxLength: 4 }).map((s) => s.map((x, i) => (x === '[]' ? '[]' : `${i === 0 ? '' : '.'}${x}`)).join(''));
    const path = fc.array(fc.oneof(key, fc.nat(2)), { maxLength: 4 });
    fc.assert(
      fc.property(fc.array(pattern, { maxLength: 8 }), fc.array(path, { maxLength: 10 }), (patterns, paths) => {
        const r = patterns.map((p, i) => [p, i] as const);
        const t = new RuleTable(r);
        for (const p of paths) expect(t.find(p)).toBe(firstByScan(r, p));
      }),
      { numRuns: 500 },
    );
  });
});
