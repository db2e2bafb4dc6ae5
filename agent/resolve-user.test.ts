import { describe, expect, it } from 'vitest';

import { GROUP, PASSWD } from '../fixtures/busybox-rootfs.js';
import { resolveUser } from './resolve-user.js';

describe('resolveUser', () => {
  it('resolves names and numbers as Docker does', () => {
    expect(resolveUser('', [], PASSWD, GROUP)).toEqual({ uid: 0, gid: 0, additionalGids: [] });
    expect(resolveUser('app', [], PASSWD, GROUP)).toEqual({ uid: 1000, gid: 1000, additionalGids: [] });
    expect(resolveUser('nobody:tty', ['daemon', '42'], PASSWD, GROUP)).toEqual({ uid: 65534, gid: 5, additionalGids: [1, 42] });
    expect(resolveUser('1000:1', [], PASSWD, GROUP)).toEqual({ uid: 1000, gid: 1, additionalGids: [] });
    expect(resolveUser('4242', [], PASSWD, GROUP)).toEqual({ uid: 4242, gid: 0, additionalGids: [] });
  });

  it('says which name it cannot find', () => {
    expect(() => resolveUser('ghost', [], PASSWD, GROUP)).toThrow('unable to find user ghost: no matching entries in passwd file');
    expect(() => resolveUser('app:ghosts', [], PASSWD, GROUP)).toThrow('unable to find group ghosts: no matching entries in group file');
  });
});
