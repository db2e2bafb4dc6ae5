import { describe, expect, it } from 'vitest';

import { crc32, crc32Portable } from './crc32.js';

describe('crc32', () => {
  it('gives zlib\'s values, with and without Node\'s own', () => {
    const data = Buffer.from('123456789');
    expect(crc32Portable(data)).toBe(0xcbf43926);
    expect(crc32(data)).toBe(0xcbf43926);
    expect(crc32Portable(Buffer.from('56789'), crc32Portable(Buffer.from('1234')))).toBe(0xcbf43926);
    const random = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7919) % 256));
    expect(crc32Portable(random)).toBe(crc32(random));
  });
});
