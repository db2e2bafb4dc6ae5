/**
 * `ContainerFiles` (backends.ts): compose watch's sync written straight into a running
 * container's filesystem, without a tar round trip.
 *
 * The root is the container's own view (`/proc/<pid>/root` of its init), never the overlay upper dir
 * (writing there while it is mounted is undefined behaviour for overlayfs) and not the host-side
 * merged mount either (it would miss the container's volumes and tmpfs mounts).
 *
 * Node has no openat2(RESOLVE_IN_ROOT), so it is emulated: every directory is held open as a
 * descriptor, and the next component is opened through `/proc/self/fd/<fd>/<name>` with
 * O_NOFOLLOW: the kernel resolves the magic link to exactly that directory (not a path that
 * could have changed), then looks up one name without following a symlink. Symlinks met on the
 * way are read and resolved by us, absolute ones from the container's root, `..` never above
 * it, so a link planted in the container (`/var/www -> /`) resolves inside the container, as
 * it would for the container's own processes. Files are written to a temporary name opened
 * O_EXCL|O_NOFOLLOW in the resolved directory, then renamed over the target: a reader never
 * sees half a file.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lchown, lstat, mkdir, open, readFile, readdir, readlink, rename, rmdir, statfs, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';

import { TscError } from '../../lib/errors.js';
import type { FileSync, SyncFilesOptions, SyncFilesResult } from '../api/types.js';
import type { ContainerFiles } from '../backends.js';

const MAX_LINKS = 40;
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

const at = (dir: FileHandle, name?: string) => (name === undefined ? `/proc/self/fd/${dir.fd}` : `/proc/self/fd/${dir.fd}/${name}`);

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

interface Owner {
  uid: number;
  gid: number;
}

/** A walk inside one root: the directories it opened, closed together at the end. */
interface Walk {
  root: FileHandle;
  opened: FileHandle[];
}

async function openDir(w: Walk, parent: FileHandle, name: string): Promise<FileHandle> {
  const fh = await open(at(parent, name), DIR_FLAGS);
  w.opened.push(fh);
  return fh;
}

/**
 * The directory `parts` names inside the root, symlinks resolved inside it. With `create`,
 * missing directories are made (mode 0755, owned by `create`); else a missing one gives
 * undefined. A component that exists and is not a directory is an error.
 */
async function resolveDir(w: Walk, parts: readonly string[], create: Owner | undefined, path: string): Promise<FileHandle | undefined> {
  const stack: FileHandle[] = [w.root];
  const queue = [...parts];
  let links = 0;
  for (let steps = 0; queue.length > 0; steps++) {
    if (steps > 4096) throw new TscError('ERR_CONFLICT', `cannot sync ${path}: the container keeps changing the path while it is resolved`);
    const name = queue.shift() as string;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      if (stack.length > 1) stack.pop();
      continue;
    }
    const cur = stack[stack.length - 1] as FileHandle;
    let next: FileHandle;
    try {
      next = await openDir(w, cur, name);
    } catch (e) {
      const c = code(e);
      if (c === 'ENOENT') {
        if (create === undefined) return undefined;
        try {
          await mkdir(at(cur, name), 0o755);
          await lchown(at(cur, name), create.uid, create.gid);
        } catch (me) {
          if (code(me) !== 'EEXIST') throw me;
        }
        queue.unshift(name);
        continue;
      }
      if (c !== 'ELOOP' && c !== 'ENOTDIR') throw e;
      const st = await lstat(at(cur, name));
      if (!st.isSymbolicLink()) throw new TscError('ERR_CONFLICT', `cannot sync ${path}: ${name} is not a directory in the container`);
      if (++links > MAX_LINKS) throw new TscError('ERR_CONFLICT', `cannot sync ${path}: too many levels of symbolic links in the container`);
      const target = await readlink(at(cur, name));
      if (target.startsWith('/')) stack.length = 1;
      queue.unshift(...target.split('/'));
      continue;
    }
    stack.push(next);
  }
  return stack[stack.length - 1];
}

/**
 * Kernel filesystems a sync must never write to. The agent writes with the host's root
 * privileges, which the container's own processes do not have: a target in the container's
 * /proc (its processes' files), /sys or a cgroup tree would reach the kernel past the
 * container's confinement. Read-only mounts (/proc/sys, masked paths) refuse by themselves.
 */
const KERNEL_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x1cd1, 'devpts'],
  [0x73636673, 'securityfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0xcafe4a11, 'bpf'],
  [0x6165676c, 'pstore'],
  [0x62656570, 'configfs'],
  [0xde5e81e4, 'efivarfs'],
  [0x65735543, 'fusectl'],
]);

async function assertPlainFs(dir: FileHandle, target: string): Promise<void> {
  const fs = KERNEL_FS.get(Number((await statfs(at(dir))).type));
  if (fs !== undefined) throw new TscError('ERR_USAGE', `cannot sync to ${target}: it is on the container's ${fs} filesystem`);
}

function split(path: string): { dir: string[]; name: string } {
  const clean = posix.normalize(`/${path}`);
  const parts = clean.split('/').filter((p) => p !== '');
  const name = parts.pop();
  if (name === undefined || name === '..') throw new TscError('ERR_USAGE', `cannot sync to ${path}: it names the container's root`);
  return { dir: parts, name };
}

/** Remove `name` in `dir`, a directory with everything below it, without following links. */
async function removeAt(w: Walk, dir: FileHandle, name: string): Promise<boolean> {
  let st;
  try {
    st = await lstat(at(dir, name));
  } catch (e) {
    if (code(e) === 'ENOENT') return false;
    throw e;
  }
  if (!st.isDirectory()) {
    await unlink(at(dir, name));
    return true;
  }
  const sub = await openDir(w, dir, name);
  for (const entry of await readdir(at(sub))) await removeAt(w, sub, entry);
  await rmdir(at(dir, name));
  return true;
}

/** Small files in one read; big ones in 1 MiB pieces, never whole in memory. */
async function copyContent(source: string, to: FileHandle, size: number): Promise<void> {
  if (size <= 8 << 20) {
    await to.writeFile(await readFile(source));
    return;
  }
  const from = await open(source, constants.O_RDONLY);
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await from.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      await to.write(buf, 0, bytesRead);
    }
  } finally {
    await from.close();
  }
}

/** Copy a host file's content into a fresh temp file of `dir`, then rename it over `name`. */
async function writeFileAt(dir: FileHandle, name: string, source: string, st: { mode: number; size: number; atime: Date; mtime: Date }, owner: Owner, w: Walk): Promise<void> {
  const tmp = `.tsc-sync-${randomBytes(6).toString('hex')}`;
  const fh = await open(at(dir, tmp), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    try {
      await copyContent(source, fh, st.size);
      await fh.chown(owner.uid, owner.gid);
      await fh.chmod(st.mode & 0o7777);
      await fh.utimes(st.atime, st.mtime);
    } finally {
      await fh.close();
    }
    try {
      await rename(at(dir, tmp), at(dir, name));
    } catch (e) {
      // A directory where the file goes: replace it, as docker cp does.
      if (code(e) !== 'EISDIR' && code(e) !== 'ENOTEMPTY' && code(e) !== 'EEXIST') throw e;
      await removeAt(w, dir, name);
      await rename(at(dir, tmp), at(dir, name));
    }
  } catch (e) {
    await unlink(at(dir, tmp)).catch(() => undefined);
    throw e;
  }
}

async function syncOne(w: Walk, change: FileSync, opts: SyncFilesOptions & Owner, result: SyncFilesResult): Promise<void> {
  const { dir: dirParts, name } = split(change.target);
  const src = await lstat(change.source).catch((e: unknown) => {
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') return undefined;
    throw e;
  });
  if (src === undefined) {
    const dir = await resolveDir(w, dirParts, undefined, change.target);
    if (dir === undefined) return;
    await assertPlainFs(dir, change.target);
    if (await removeAt(w, dir, name)) result.deleted++;
    return;
  }
  const dir = (await resolveDir(w, dirParts, opts, change.target)) as FileHandle;
  await assertPlainFs(dir, change.target);
  const have = await lstat(at(dir, name)).catch(() => undefined);
  if (src.isDirectory()) {
    if (have?.isDirectory() === true) {
      result.unchanged++;
      return;
    }
    if (have !== undefined) await removeAt(w, dir, name);
    await mkdir(at(dir, name), src.mode & 0o7777);
    await lchown(at(dir, name), opts.uid, opts.gid);
    result.written++;
    return;
  }
  if (src.isSymbolicLink()) {
    const link = await readlink(change.source);
    if (have?.isSymbolicLink() === true && (await readlink(at(dir, name))) === link) {
      result.unchanged++;
      return;
    }
    if (have !== undefined) await removeAt(w, dir, name);
    await symlink(link, at(dir, name));
    await lchown(at(dir, name), opts.uid, opts.gid);
    result.written++;
    return;
  }
  // Sockets, fifos and devices have no content to copy: left alone, as an archive would skip them.
  if (!src.isFile()) {
    result.unchanged++;
    return;
  }
  if (
    opts.skipUnchanged === true &&
    have?.isFile() === true &&
    have.size === src.size &&
    // utimes goes through a float of seconds: equal to the millisecond, not the nanosecond.
    Math.abs(have.mtimeMs - src.mtimeMs) < 1 &&
    (have.mode & 0o7777) === (src.mode & 0o7777)
  ) {
    result.unchanged++;
    return;
  }
  await writeFileAt(dir, name, change.source, src, opts, w);
  result.written++;
}

/**
 * Where the files are: a container, by the host pid of its init (the agent's view), or a plain
 * directory (tests). A container's pid is checked to still be that container: `/proc/<pid>` is
 * held open while its cgroup is read (it must name the container id) and its `root` opened
 * through it, so a pid reused by a host process after the container died can never make
 * the host's root the target.
 */
export type RootSpec = { dir: string } | { pid: number; containerId: string };

async function openRoot(spec: RootSpec): Promise<FileHandle> {
  if ('dir' in spec) return open(spec.dir, constants.O_RDONLY | constants.O_DIRECTORY);
  const proc = await open(`/proc/${spec.pid}`, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    const cgroup = await readFile(at(proc, 'cgroup'), 'utf8');
    if (!cgroup.includes(spec.containerId)) throw new TscError('ERR_CONFLICT', `process ${spec.pid} is no longer container ${spec.containerId.slice(0, 12)}`);
    return await open(at(proc, 'root'), constants.O_RDONLY | constants.O_DIRECTORY);
  } finally {
    await proc.close();
  }
}

async function withRoot<T>(spec: RootSpec, fn: (w: Walk) => Promise<T>): Promise<T> {
  let rootFh: FileHandle;
  try {
    rootFh = await openRoot(spec);
  } catch (e) {
    if (e instanceof TscError) throw e;
    const what = 'dir' in spec ? spec.dir : `container ${spec.containerId.slice(0, 12)} (pid ${spec.pid})`;
    throw new TscError('ERR_CONFLICT', `cannot reach the filesystem of ${what}: ${code(e) ?? String(e)}`, { cause: e });
  }
  const w: Walk = { root: rootFh, opened: [] };
  try {
    return await fn(w);
  } finally {
    await Promise.all([rootFh, ...w.opened].map((f) => f.close().catch(() => undefined)));
  }
}

/** Entries written at once: file system calls overlap instead of queueing one by one. */
const PARALLEL = 16;

/** Paths where the order of two entries matters: the same path, or one below the other. */
function related(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

/**
 * Mirror each host `source` at its `target` inside the root. Entries run up to 16 at a time,
 * but an entry waits for every earlier one on the same path or above or below it: a directory
 * is made before what goes in it, a deletion happens before a re-add, the last write wins.
 */
export async function syncInRoot(spec: RootSpec, changes: readonly FileSync[], opts: SyncFilesOptions & Owner): Promise<SyncFilesResult> {
  for (const c of changes) {
    if (!posix.isAbsolute(c.target)) throw new TscError('ERR_USAGE', `cannot sync to ${c.target}: the container path must be absolute`);
  }
  const result: SyncFilesResult = { written: 0, deleted: 0, unchanged: 0 };
  await withRoot(spec, async (w) => {
    const inflight = new Map<Promise<void>, string>();
    let failure: { error: unknown } | undefined;
    for (const c of changes) {
      if (failure !== undefined) break;
      const target = posix.normalize(c.target);
      const before = [...inflight].filter(([, t]) => related(t, target)).map(([p]) => p);
      if (before.length > 0) await Promise.all(before);
      while (inflight.size >= PARALLEL) await Promise.race(inflight.keys());
      // Each entry resolves its own directories, from the root, and closes them when done.
      const own: Walk = { root: w.root, opened: [] };
      const task: Promise<void> = syncOne(own, c, opts, result)
        .catch((error: unknown) => {
          failure ??= { error };
        })
        .finally(async () => {
          inflight.delete(task);
          await Promise.all(own.opened.map((f) => f.close().catch(() => undefined)));
        });
      inflight.set(task, target);
    }
    await Promise.all(inflight.keys());
    if (failure !== undefined) throw failure.error;
  });
  return result;
}

/** A file's text inside the root (symlinks followed inside it), or undefined. */
export async function readTextInRoot(spec: RootSpec, path: string): Promise<string | undefined> {
  return withRoot(spec, async (w) => {
    let { dir: dirParts, name } = split(path) as { dir: string[]; name: string };
    for (let links = 0; ; links++) {
      const dir = await resolveDir(w, dirParts, undefined, path);
      if (dir === undefined) return undefined;
      const st = await lstat(at(dir, name)).catch(() => undefined);
      if (st === undefined) return undefined;
      if (!st.isSymbolicLink()) {
        const fh = await open(at(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW);
        try {
          return (await fh.stat()).isFile() ? await fh.readFile('utf8') : undefined;
        } finally {
          await fh.close();
        }
      }
      if (links >= MAX_LINKS) return undefined;
      const target = await readlink(at(dir, name));
      // Relative links resolve from the link's directory: `resolveDir` walks `..` there.
      const parts = (target.startsWith('/') ? target.split('/') : [...dirParts, ...target.split('/')]).filter((p) => p !== '' && p !== '.');
      const last = parts.pop();
      if (last === undefined || last === '..') return undefined;
      dirParts = parts;
      name = last;
    }
  });
}

export function createContainerFiles(): ContainerFiles {
  return {
    sync: (c, changes, opts) => syncInRoot({ pid: c.pid, containerId: c.id }, changes, opts),
    readText: (c, path) => readTextInRoot({ pid: c.pid, containerId: c.id }, path),
  };
}
