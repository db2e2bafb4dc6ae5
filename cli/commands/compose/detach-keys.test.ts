import { describe, expect, it } from 'vitest';

import { detachScanner, parseDetachKeys } from './detach-keys.js';

describe('detach keys', () => {
  it("reads Docker's key names", () => {
    expect([...parseDetachKeys('ctrl-p,ctrl-q')]).toEqual([0x10, 0x11]);
    expect([...parseDetachKeys('ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_,a,Z')]).toEqual([0, 27, 28, 29, 30, 31, 0x61, 0x5a]);
    expect([...parseDetachKeys('Ctrl-A')]).toEqual([1]);
    expect(() => parseDetachKeys('ctrl-1')).toThrow(/invalid detach keys "ctrl-1"/);
    expect(() => parseDetachKeys('ab')).toThrow(/"ab" is neither/);
  });

  it('detaches on the sequence, even split across chunks, and drops nothing else', () => {
    const scan = detachScanner(parseDetachKeys('ctrl-p,ctrl-q'));
    expect(scan(Buffer.from('ls\r\x10'))).toEqual({ forward: Buffer.from('ls\r'), detached: false });
    expect(scan(Buffer.from('\x11tail'))).toEqual({ forward: Buffer.alloc(0), detached: true });
  });

  it('passes a held Ctrl-P on when the next key is not Ctrl-Q, as Docker does', () => {
    const scan = detachScanner(parseDetachKeys('ctrl-p,ctrl-q'));
    expect(scan(Buffer.from('\x10'))).toEqual({ forward: Buffer.alloc(0), detached: false });
    expect(scan(Buffer.from('x'))).toEqual({ forward: Buffer.from('\x10x'), detached: false });
    // Ctrl-P Ctrl-P Ctrl-Q: the first is passed on, the second starts the sequence
    expect(scan(Buffer.from('\x10\x10\x11'))).toEqual({ forward: Buffer.from('\x10'), detached: true });
  });

  it('never detaches without keys, and Ctrl-C is an ordinary byte', () => {
    const scan = detachScanner(Buffer.alloc(0));
    expect(scan(Buffer.from('\x10\x11\x03'))).toEqual({ forward: Buffer.from('\x10\x11\x03'), detached: false });
    expect(detachScanner(parseDetachKeys('ctrl-p,ctrl-q'))(Buffer.from('\x03'))).toEqual({ forward: Buffer.from('\x03'), detached: false });
  });
});
