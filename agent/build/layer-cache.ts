/**
 * The build cache. A step's key chains its parent's key, the instruction as expanded (with
 * RUN's build-arg environment) and the digests of what it reads (context files for COPY/ADD,
 * the source stage's key for `COPY --from`), so equal keys mean the step would do the same
 * thing on the same input. A record maps a key to the layer the step made and the history
 * entry it got; the layer blob must still be in the store for a hit (a garbage collection may
 * have taken it: then the step runs again). Records live in `<store>/build-cache/`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { ImageStore } from '../images/image-store.js';

export interface CacheRecord {
  /** The layer's digest (= its diff ID: build layers are stored uncompressed). */
  layer: string;
  size: number;
  /** When the step ran: the history entry's `created`, reused on hits so image IDs stay stable. */
  created: string;
  createdBy: string;
  /** The step changed nothing: no layer, a history entry marked empty_layer. */
  empty?: boolean;
}

/** The key of a step: sha256 over its parent's key and its parts. */
export function stepKey(parent: string, ...parts: string[]): string {
  const h = createHash('sha256');
  h.update(parent);
  for (const p of parts) {
    h.update('\0');
    h.update(p);
  }
  return `sha256:${h.digest('hex')}`;
}

export interface LayerCache {
  get(key: string): Promise<CacheRecord | undefined>;
  put(key: string, rec: CacheRecord): Promise<void>;
}

export function openLayerCache(store: ImageStore): LayerCache {
  const dir = join(store.root, 'build-cache');
  const file = (key: string) => join(dir, `${key.replace(/^sha256:/, '')}.json`);
  return {
    async get(key) {
      let rec: CacheRecord;
      try {
        rec = JSON.parse(await readFile(file(key), 'utf8')) as CacheRecord;
      } catch {
        return undefined;
      }
      return rec.empty === true || (await store.hasBlob(rec.layer)) ? rec : undefined;
    },
    async put(key, rec) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const tmp = `${file(key)}.${randomBytes(4).toString('hex')}`;
      await writeFile(tmp, JSON.stringify(rec));
      await rename(tmp, file(key));
    },
  };
}
