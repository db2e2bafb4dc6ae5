import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createVolumeStore, volumeMountSource, type VolumeStore } from './volumes.js';

describe('local volumes', () => {
  let root: string;
  let store: VolumeStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsc-vol-'));
    store = createVolumeStore(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const spec = (name: string, labels: Record<string, string> = {}) => ({ name, driver: 'local', driverOpts: {}, labels });

  it('creates a data directory once, and a second create returns the first', async () => {
    const v = await store.create(spec('p_data', { 'com.docker.compose.project': 'p' }), new Date('2026-01-01T00:00:00Z'));
    expect(v.mountpoint).toBe(join(root, 'p_data', '_data'));
    expect((await stat(v.mountpoint)).isDirectory()).toBe(true);
    const again = await store.create(spec('p_data'), new Date('2027-01-01T00:00:00Z'));
    expect(again.createdAt).toBe('2026-01-01T00:00:00.000Z');
    expect(again.labels).toEqual({ 'com.docker.compose.project': 'p' });
  });

  it('lists by label and removes', async () => {
    await store.create(spec('a_x', { 'com.docker.compose.project': 'a' }));
    await store.create(spec('b_x', { 'com.docker.compose.project': 'b' }));
    expect((await store.list({ label: ['com.docker.compose.project=a'] })).map((v) => v.name)).toEqual(['a_x']);
    await store.remove('a_x');
    expect((await store.list()).map((v) => v.name)).toEqual(['b_x']);
    await expect(store.remove('a_x')).rejects.toThrow('no such volume: a_x');
    await expect(store.remove('b_x', { inUse: true })).rejects.toThrow('volume b_x is in use');
  });

  it('refuses bad names and other drivers', async () => {
    await expect(store.create(spec('../etc'))).rejects.toThrow('invalid volume name "../etc"');
    await expect(store.create({ ...spec('x1'), driver: 'nfs' })).rejects.toThrow('driver "nfs" is not supported');
  });

  it('turns local driver options into what to mount', async () => {
    const plain = await store.inspect((await store.create(spec('plain'))).name);
    expect(volumeMountSource(plain)).toEqual({ kind: 'bind', source: plain.mountpoint });
    const bound = await store.inspect((await store.create({ ...spec('bound'), driverOpts: { type: 'none', o: 'bind', device: '/srv/data' } })).name);
    expect(volumeMountSource(bound)).toEqual({ kind: 'bind', source: '/srv/data' });
    const tmpfs = await store.inspect((await store.create({ ...spec('fast'), driverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=100m,uid=1000' } })).name);
    expect(volumeMountSource(tmpfs)).toEqual({ kind: 'mount', fsType: 'tmpfs', device: 'tmpfs', options: 'size=100m,uid=1000' });
  });
});
