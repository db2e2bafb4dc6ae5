import { describe, expect, it } from 'vitest';

import { compileGlob, hasGlob } from './glob.js';

describe('COPY source patterns (filepath.Match)', () => {
  it('matches * and ? within one path part only', () => {
    const m = compileGlob('src/*.js');
    expect(m('src/a.js')).toBe(true);
    expect(m('src/sub/a.js')).toBe(false);
    expect(m('src/.js')).toBe(true);
    expect(compileGlob('file?.txt')('file1.txt')).toBe(true);
    expect(compileGlob('file?.txt')('file/.txt')).toBe(false);
  });

  it('supports classes, negated classes and escapes, and nothing is a regex', () => {
    expect(compileGlob('f[0-9].txt')('f7.txt')).toBe(true);
    expect(compileGlob('f[^0-9].txt')('f7.txt')).toBe(false);
    expect(compileGlob('f[!0-9].txt')('fa.txt')).toBe(true);
    expect(compileGlob('a\\*b')('a*b')).toBe(true);
    expect(compileGlob('a\\*b')('axb')).toBe(false);
    expect(compileGlob('a.b')('axb')).toBe(false);
    expect(compileGlob('(x)+')('(x)+')).toBe(true);
  });

  it('says which sources are patterns, and rejects broken ones', () => {
    expect(hasGlob('src/app.js')).toBe(false);
    expect(hasGlob('src/*.js')).toBe(true);
    expect(() => compileGlob('a[b')).toThrow(/syntax error in pattern/);
  });
});
