import { describe, expect, it } from 'vitest';

import type { MountSpec } from './api/types.js';
import { mergeVolumesFrom, parseVolumesFrom } from './volumes-from.js';

const vol = (source: string, target: string, readOnly = false): MountSpec => ({ type: 'volume', source, target, readOnly });

describe('volumes_from', () => {
  it('parses CONTAINER[:ro|rw] and refuses anything else', () => {
    expect(parseVolumesFrom('p-db-1')).toEqual({ container: 'p-db-1', readOnly: false });
    expect(parseVolumesFrom('p-db-1:ro')).toEqual({ container: 'p-db-1', readOnly: true });
    expect(parseVolumesFrom('p-db-1:rw')).toEqual({ container: 'p-db-1', readOnly: false });
    expect(() => parseVolumesFrom('p-db-1:rx')).toThrow(/invalid volumes_from "p-db-1:rx"/);
  });

  it('inherits volumes and binds in order, the own mounts winning, never tmpfs or files', () => {
    const a: MountSpec[] = [vol('data', '/data'), { type: 'bind', source: '/srv', target: '/srv', readOnly: true }, { type: 'tmpfs', target: '/tmp' }];
    const b: MountSpec[] = [vol('other', '/data'), { type: 'file', target: '/run/secrets/x', content: 's' }];
    const merged = mergeVolumesFrom([vol('mine', '/srv')], [
      { readOnly: false, mounts: a },
      { readOnly: true, mounts: b },
    ]);
    expect(merged).toEqual([vol('other', '/data', true), vol('mine', '/srv')]);
  });

  it('never makes a read-only source writable', () => {
    expect(mergeVolumesFrom([], [{ readOnly: false, mounts: [vol('v', '/v', true)] }])).toEqual([vol('v', '/v', true)]);
  });
});
