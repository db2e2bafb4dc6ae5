/**
 * Paths inside a root filesystem seen from the host, resolved as the kernel would resolve them
 * after a chroot: symbolic links are followed, an absolute link target starts again at the root,
 * and `..` never climbs above it. The builder writes COPY/ADD results and reads `COPY --from`
 * sources through these, so that a symlink in an image (`/app -> /etc`) cannot send a write to
 * the host's `/etc` (moby's `symlink.FollowSymlinkInScope`).
 */
import type { Stats } from 'node:fs';
import { chown, lstat, mkdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

import { TscError } from '../../lib/errors.js';

const MAX_LINKS = 255;

/** `/`-separated parts of an in-root path, `.` and empty parts dropped, `..` applied. */
export function inRootParts(path: string): string[] {
  const out: string[] = [];
  for (const p of path.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') out.pop();
    else out.push(p);
  }
  return out;
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await lstat(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/**
 * The host path of `path` inside `root`, every symlink followed within the root (the last part
 * too when `followLast`). Parts that do not exist are kept as they are.
 */
export async function resolveInRoot(root: string, path: string, opts: { followLast?: boolean } = {}): Promise<string> {
  const followLast = opts.followLast ?? true;
  let pending = inRootParts(path);
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      done.pop();
      continue;
    }
    const candidate = join(root, ...done, part);
    const st = pending.length === 0 && !followLast ? undefined : await lstatOrUndefined(candidate);
    if (st?.isSymbolicLink() === true) {
      if (++links > MAX_LINKS) throw new TscError('ERR_DOCKERFILE', `too many levels of symbolic links resolving ${path}`);
      const target = await readlink(candidate);
      const rest = target.split('/').filter((p) => p !== '' && p !== '.');
      if (target.startsWith('/')) done.length = 0;
      pending = [...rest, ...pending];
      continue;
    }
    done.push(part);
  }
  return join(root, ...done);
}

/**
 * Make directory `path` inside `root` (and its missing parents, mode 0755, owned by `owner`
 * or root), following symlinks within the root; returns its host path.
 */
export async function mkdirInRoot(root: string, path: string, owner?: { uid: number; gid: number }): Promise<string> {
  const parts = inRootParts(path);
  let cur = root;
  for (let i = 0; i < parts.length; i++) {
    const resolved = await resolveInRoot(root, `${cur.slice(root.length)}/${parts[i] as string}`);
    const st = await lstatOrUndefined(resolved);
    if (st === undefined) {
      await mkdir(resolved, { mode: 0o755 });
      if (owner !== undefined) await chown(resolved, owner.uid, owner.gid);
    } else if (!st.isDirectory()) {
      throw new TscError('ERR_DOCKERFILE', `cannot make directory ${path}: /${parts.slice(0, i + 1).join('/')} is not a directory`);
    }
    cur = resolved;
  }
  return cur;
}
