import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { formatDuration, parseBytes, parseDuration } from './units.js';

describe('parseDuration', () => {
  it.each([
    ['10s', 10e9],
    ['1m30s', 90e9],
    ['1.5h', 5400e9],
    ['500ms', 500e6],
    ['1h2m3s', 3723e9],
    ['2us', 2000],
    ['3µs', 3000],
    ['7ns', 7],
    ['0', 0],
    ['-2s', -2e9],
    ['1d', 86400e9],
    ['1w', 604800e9],
    ['.5s', 500e6],
  ])('%s is %d ns', (text, ns) => {
    expect(parseDuration(text)).toBe(ns);
  });

  it.each(['10', '', 's', '1x', '1s2', 'abc', '-'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(`invalid duration "${text}"`);
  });
});

describe('formatDuration prints as Go does', () => {
  it.each([
    [0, '0s'],
    [10e9, '10s'],
    [90e9, '1m30s'],
    [3600e9, '1h0m0s'],
    [5400e9, '1h30m0s'],
    [500e6, '500ms'],
    [1.5e9, '1.5s'],
    [1500, '1.5µs'],
    [100, '100ns'],
    [2.25e6, '2.25ms'],
    [-2e9, '-2s'],
    [86400e9, '24h0m0s'],
    [61.001e9, '1m1.001s'],
  ])('%d ns is %s', (ns, text) => {
    expect(formatDuration(ns)).toBe(text);
  });

  it('round-trips through parseDuration', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e15, max: 1e15 }), (ns) => {
        expect(parseDuration(formatDuration(ns))).toBe(ns);
      }),
    );
  });
});

describe('parseBytes reads sizes as docker does', () => {
  it.each([
    ['512m', 536870912],
    ['512M', 536870912],
    ['1g', 1073741824],
    ['1gb', 1073741824],
    ['1GiB', 1073741824],
    ['100k', 102400],
    ['2048', 2048],
    ['1.5g', 1610612736],
    ['64 m', 67108864],
    [4096, 4096],
  ])('%j is %d bytes', (text, bytes) => {
    expect(parseBytes(text)).toBe(bytes);
  });

  it.each(['', 'm', '1x', '-1m', '1mm', 'lots'])('rejects %j', (text) => {
    expect(() => parseBytes(text)).toThrow(`invalid size: '${text}'`);
  });
});
