import { describe, expect, it } from 'vitest';
import { Inflights } from './inflights.js';

describe('inflights', () => {
  it('fills up at the message limit and frees acknowledged messages in order', () => {
    const inf = new Inflights(3);
    inf.add(2, 10);
    inf.add(4, 10);
    expect(inf.full()).toBe(false);
    inf.add(7, 10);
    expect(inf.full()).toBe(true);
    expect(() => inf.add(8, 1)).toThrow(/full/);
    inf.freeLE(4);
    expect(inf.size()).toBe(1);
    expect(inf.full()).toBe(false);
    inf.add(9, 1);
    inf.add(11, 1); // wraps around the ring
    expect(inf.size()).toBe(3);
    inf.freeLE(10);
    expect(inf.size()).toBe(1);
    inf.freeLE(100);
    expect(inf.size()).toBe(0);
  });

  it('fills up at the byte limit', () => {
    const inf = new Inflights(10, 100);
    inf.add(1, 60);
    expect(inf.full()).toBe(false);
    inf.add(2, 40);
    expect(inf.full()).toBe(true);
    expect(inf.inflightBytes()).toBe(100);
    inf.freeLE(1);
    expect(inf.inflightBytes()).toBe(40);
    expect(inf.full()).toBe(false);
  });

  it('refuses indexes that do not increase', () => {
    const inf = new Inflights(4);
    inf.add(5, 1);
    expect(() => inf.add(5, 1)).toThrow(/not above/);
  });

  it('freeing below the first in-flight index frees nothing', () => {
    const inf = new Inflights(4);
    inf.add(5, 1);
    inf.freeLE(4);
    expect(inf.size()).toBe(1);
  });
});
