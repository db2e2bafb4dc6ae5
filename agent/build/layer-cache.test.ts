import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { openImageStore, type ImageStore } from '../images/index.js';
import { openLayerCache, stepKey } from './layer-cache.js';

describe('the layer cache', () => {
  let dir: string;
  let store: ImageStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsc-layer-cache-'));
    store = await openImageStore(join(dir, 'store'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keys chain the parent and every part, in order', () => {
    const a = stepKey('sha256:base', 'RUN make', 'A=1');
    expect(stepKey('sha256:base', 'RUN make', 'A=1')).toBe(a);
    expect(stepKey('sha256:other', 'RUN make', 'A=1')).not.toBe(a);
    expect(stepKey('sha256:base', 'A=1', 'RUN make')).not.toBe(a);
    expect(stepKey('sha256:base', 'RUN make', 'A=2')).not.toBe(a);
    expect(stepKey('sha256:base', 'RUN make\0A=1')).toBe(a); // parts are joined with NUL
  });

  it('hits only while the layer blob is in the store; an empty step needs none', async () => {
    const cache = openLayerCache(store);
    const layer = await store.putBlob(Buffer.from('layer bytes'), 'application/vnd.oci.image.layer.v1.tar');
    await cache.put('sha256:k1', { layer: layer.digest, size: layer.size, created: '2026-01-01T00:00:00Z', createdBy: 'RUN make' });
    expect(await cache.get('sha256:k1')).toMatchObject({ layer: layer.digest, createdBy: 'RUN make' });
    await cache.put('sha256:k2', { layer: `sha256:${'0'.repeat(64)}`, size: 1, created: '', createdBy: 'RUN gone' });
    expect(await cache.get('sha256:k2')).toBeUndefined();
    await cache.put('sha256:k3', { layer: `sha256:${'1'.repeat(64)}`, size: 1024, created: '', createdBy: 'RUN true', empty: true });
    expect(await cache.get('sha256:k3')).toMatchObject({ empty: true });
    expect(await cache.get('sha256:never')).toBeUndefined();
  });
});
