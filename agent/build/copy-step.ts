/**
 * COPY and ADD into a root filesystem (a build step's overlay mount, or an empty directory for
 * `--link`), with Docker's destination rules: a directory source copies its contents, a file
 * goes to `dest` itself unless `dest` ends in `/`, exists as a directory, or there are several
 * sources (which then needs a directory). The destination is resolved inside the root; below
 * it nothing is ever written through a symlink: an existing entry in the way is replaced.
 * Ownership is 0:0 (or `--chown`), modes are the source's (or `--chmod`), mtimes are kept.
 */
import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import { chmod, copyFile, lchown, lstat, mkdir, readdir, readlink, rm, symlink, lutimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { TscError } from '../../lib/errors.js';
import type { EntryType } from './build-context.js';
import { mkdirInRoot, resolveInRoot } from './in-root.js';

export interface TreeEntry {
  /** Relative to the copied item ('' for the item itself). */
  rel: string;
  /** Host path to read it from. */
  abs: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  link?: string | undefined;
}

export interface CopyItem {
  /** The source's base name (where a file lands in a directory destination). */
  name: string;
  /** The item first, then what is below it (parents before children). */
  entries: TreeEntry[];
}

export interface CopyPlan {
  /** Absolute path inside the root. */
  dest: string;
  items: CopyItem[];
  /** The destination names a directory (ends in `/`, or several sources / a glob). */
  destIsDir: boolean;
  /** `--chown` resolved; undefined keeps the entries' own uid/gid. */
  owner?: { uid: number; gid: number } | undefined;
  chmod?: number | undefined;
  where: { file: string; line: number; kind: string };
}

/** Every entry below `abs` on disk (lstat, no symlink followed), the item itself first. */
export async function walkTree(abs: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  async function visit(p: string, rel: string): Promise<void> {
    const st = await lstat(p);
    const type: EntryType = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
    const e: TreeEntry = { rel, abs: p, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtimeMs / 1000 };
    if (type === 'symlink') e.link = await readlink(p);
    out.push(e);
    if (type === 'dir') for (const n of (await readdir(p)).sort()) await visit(join(p, n), rel === '' ? n : `${rel}/${n}`);
  }
  await visit(abs, '');
  return out;
}

async function existing(p: string): Promise<Stats | undefined> {
  return lstat(p).catch(() => undefined);
}

/** Make the parents of `rel` below `base` real directories (replacing anything else in the way). */
async function ensureDirs(base: string, rel: string, made: Set<string>): Promise<void> {
  const parts = rel.split('/').slice(0, -1);
  let cur = base;
  for (const p of parts) {
    cur = join(cur, p);
    if (made.has(cur)) continue;
    const st = await existing(cur);
    if (st?.isDirectory() !== true) {
      if (st !== undefined) await rm(cur, { recursive: true, force: true });
      await mkdir(cur, { mode: 0o755 });
    }
    made.add(cur);
  }
}

async function place(e: TreeEntry, dst: string, plan: CopyPlan): Promise<void> {
  const st = await existing(dst);
  if (st !== undefined && !(st.isDirectory() && e.type === 'dir')) await rm(dst, { recursive: true, force: true });
  const uid = plan.owner?.uid ?? e.uid;
  const gid = plan.owner?.gid ?? e.gid;
  switch (e.type) {
    case 'dir':
      if (st?.isDirectory() !== true) await mkdir(dst);
      await lchown(dst, uid, gid);
      await chmod(dst, plan.chmod ?? e.mode);
      await lutimes(dst, e.mtime, e.mtime);
      return;
    case 'file':
      await copyFile(e.abs, dst, constants.COPYFILE_EXCL);
      await lchown(dst, uid, gid);
      await chmod(dst, plan.chmod ?? e.mode);
      await lutimes(dst, e.mtime, e.mtime);
      return;
    case 'symlink':
      await symlink(e.link ?? '', dst);
      await lchown(dst, uid, gid);
      await lutimes(dst, e.mtime, e.mtime);
      return;
    case 'other':
      return; // device nodes and sockets are not copied
  }
}

/** Carry out a COPY/ADD plan into `root`; returns how many entries were written. */
export async function copyIntoRoot(root: string, plan: CopyPlan): Promise<number> {
  const { where } = plan;
  const destIsDir = plan.destIsDir || plan.dest.endsWith('/');
  if (plan.items.length > 1 && !destIsDir) {
    const resolved = await resolveInRoot(root, plan.dest);
    if ((await existing(resolved))?.isDirectory() !== true) {
      throw new TscError('ERR_DOCKERFILE', `${where.kind} failed: when using ${where.kind} with more than one source file, the destination must be a directory and end with a /`, {
        file: where.file,
        line: where.line,
      });
    }
  }
  let n = 0;
  for (const item of plan.items) {
    const top = item.entries[0];
    if (top === undefined) continue;
    let base: string;
    let entries = item.entries;
    if (top.type === 'dir') {
      base = await mkdirInRoot(root, plan.dest);
      entries = entries.slice(1);
    } else {
      const resolvedDest = await resolveInRoot(root, plan.dest);
      const isDir = destIsDir || (await existing(resolvedDest))?.isDirectory() === true;
      const target = isDir ? `${plan.dest.replace(/\/+$/, '')}/${item.name}` : plan.dest;
      const parent = await mkdirInRoot(root, dirname(target));
      entries = [{ ...top, rel: basename(target) }];
      base = parent;
    }
    const made = new Set<string>([base]);
    for (const e of entries) {
      await ensureDirs(base, e.rel, made);
      const dst = join(base, e.rel);
      await place(e, dst, plan);
      if (e.type === 'dir') made.add(dst);
      n++;
    }
  }
  return n;
}
