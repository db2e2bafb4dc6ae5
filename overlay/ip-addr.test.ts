import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { addressOfPtrName, canonicalIp, cidrsOverlap, formatIp, parseCidr, parseIp, ptrNameOf } from './ip-addr.js';

describe('ip-addr', () => {
  it('formats IPv6 as RFC 5952', () => {
    expect(canonicalIp('FD00:0:0:0:0:0:0:1')).toBe('fd00::1');
    expect(canonicalIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('::ffff:1.2.3.4')).toBe('::ffff:102:304');
    expect(canonicalIp('::')).toBe('::');
  });

  it('round-trips any address through text', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (v) => parseIp(formatIp(6, v)).value === v));
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }), (v) => parseIp(formatIp(4, v)).value === v));
  });

  it('finds overlapping subnets and clears host bits', () => {
    expect(parseCidr('10.1.2.3/16')).toEqual({ family: 4, base: parseIp('10.1.0.0').value, prefix: 16 });
    expect(cidrsOverlap(parseCidr('10.0.0.0/8')!, parseCidr('10.200.0.0/24')!)).toBe(true);
    expect(cidrsOverlap(parseCidr('10.0.0.0/24')!, parseCidr('10.0.1.0/24')!)).toBe(false);
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
  });

  it('maps addresses to PTR names and back', () => {
    expect(ptrNameOf('172.18.0.2')).toBe('2.0.18.172.in-addr.arpa');
    expect(addressOfPtrName('2.0.18.172.in-addr.arpa.')).toBe('172.18.0.2');
    expect(addressOfPtrName(ptrNameOf('fd00::2'))).toBe('fd00::2');
    expect(addressOfPtrName('0.18.172.in-addr.arpa')).toBeUndefined();
  });
});
