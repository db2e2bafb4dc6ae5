/**
 * `ImageBuilder` (backends.ts) over the bundled builder (`agent/build/`): the image store of
 * this host, RUN steps in containers of the same runtime binary the agent uses (under a
 * runtime root of their own), missing base images pulled from their registries.
 */
import { buildImage } from '../build/build-executor.js';
import type { ImageBuilder } from '../backends.js';
import { pullImage, type ImageStore, type PullOptions } from '../images/index.js';

export interface LocalImageBuilderOptions {
  store: ImageStore;
  /** The OCI runtime binary. */
  runtime: string;
  /** `--root` of the build containers. */
  runtimeRoot: string;
  registry?: Omit<PullOptions, 'onProgress' | 'unpack'>;
}

export function createLocalImageBuilder(opts: LocalImageBuilderOptions): ImageBuilder {
  return {
    async build(spec, onProgress, signal) {
      const r = await buildImage(
        {
          store: opts.store,
          runtime: opts.runtime,
          runtimeRoot: opts.runtimeRoot,
          pull: async (ref) => {
            onProgress?.({ step: `[internal] load metadata for ${ref}`, status: 'started' });
            await pullImage(opts.store, ref, { ...opts.registry, unpack: true });
            onProgress?.({ step: `[internal] load metadata for ${ref}`, status: 'done' });
          },
          onEvent: onProgress,
          signal,
        },
        spec,
      );
      return { id: r.id, tags: r.tags, steps: r.steps, cached: r.cached };
    },
  };
}
