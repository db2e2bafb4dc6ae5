import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { openImageStore, readTar, type ImageStore } from '../images/index.js';
import { sha256Digest } from '../images/digest.js';
import { unescapeGetfattr, writeLayer } from './layer-diff.js';

describe('a directory written as a layer', () => {
  let dir: string;
  let store: ImageStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsc-layer-diff-'));
    store = await openImageStore(join(dir, 'store'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is a sorted tar in the store, named by its digest, with links kept and excluded paths left out', async () => {
    const src = join(dir, 'src');
    await mkdir(join(src, 'etc/skip'), { recursive: true });
    await writeFile(join(src, 'etc/app.conf'), 'x=1\n');
    await link(join(src, 'etc/app.conf'), join(src, 'etc/hard.conf'));
    await symlink('app.conf', join(src, 'etc/soft.conf'));
    await writeFile(join(src, 'etc/skip/hosts'), '');
    const blob = await writeLayer(store, src, { overlay: false, exclude: new Set(['etc/skip']) });
    const bytes = await store.readBlob(blob.digest);
    expect(sha256Digest(bytes)).toBe(blob.digest);
    expect(blob.size).toBe(bytes.length);
    const entries: Array<[string, string, string]> = [];
    for await (const { entry, body } of readTar(store.openBlob(blob.digest))) {
      let text = '';
      for await (const c of body) text += Buffer.from(c).toString();
      entries.push([entry.name, entry.type, entry.type === 'file' ? text : entry.linkname]);
    }
    expect(entries).toEqual([
      ['etc/', 'dir', ''],
      ['etc/app.conf', 'file', 'x=1\n'],
      ['etc/hard.conf', 'link', 'etc/app.conf'],
      ['etc/soft.conf', 'symlink', 'app.conf'],
    ]);
    expect(blob.entries).toBe(4);
    // Nothing of the temporary file is left in the store's ingest directory.
    expect(store.activeTemps().size).toBe(0);
  });

  it('reads getfattr\'s octal escapes back', () => {
    expect(unescapeGetfattr('/a\\040b/\\303\\251')).toBe('/a b/é');
  });
});
