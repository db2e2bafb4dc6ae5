/**
 * `volumes_from` as the Docker daemon applies it at create: the volume and bind mounts of each
 * named container in order, then the container's own mounts; at one target the later wins.
 * `:ro` makes an inherited mount read-only; `:rw` (the default) keeps the source's mode, so a
 * read-only mount is never made writable. tmpfs and secret/config files are not inherited.
 */
import { TscError } from '../lib/errors.js';
import type { MountSpec } from './api/types.js';

export function parseVolumesFrom(ref: string): { container: string; readOnly: boolean } {
  const m = /^([^:]+)(?::(ro|rw))?$/.exec(ref);
  if (m === null || m[1] === undefined) throw new TscError('ERR_USAGE', `invalid volumes_from "${ref}": expected CONTAINER[:ro|rw]`);
  return { container: m[1], readOnly: m[2] === 'ro' };
}

export function mergeVolumesFrom(own: readonly MountSpec[], inherited: ReadonlyArray<{ readOnly: boolean; mounts: readonly MountSpec[] }>): MountSpec[] {
  const byTarget = new Map<string, MountSpec>();
  for (const src of inherited) {
    for (const m of src.mounts) {
      if (m.type !== 'bind' && m.type !== 'volume') continue;
      byTarget.delete(m.target);
      byTarget.set(m.target, { ...m, readOnly: m.readOnly || src.readOnly });
    }
  }
  for (const m of own) {
    byTarget.delete(m.target);
    byTarget.set(m.target, m);
  }
  return [...byTarget.values()];
}
