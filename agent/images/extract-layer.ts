/**
 * Safe extraction of one layer (an uncompressed tar stream) into an empty directory, the
 * layer's snapshot. Extraction can never write outside the directory:
 *  - names are cleaned lexically; a name that climbs out with `..` is refused (an absolute
 *    name is read relative to the directory, as Docker does);
 *  - no path the kernel sees ever goes through a symbolic link: the extractor keeps a map of
 *    every path it created (the directory starts empty and is only ours), and an entry whose
 *    parent is a symlink or a non-directory is refused, as is a hard link whose target is not
 *    an entry made earlier in this layer;
 *  - files are opened with O_CREAT|O_EXCL|O_NOFOLLOW after any old entry is removed.
 * OCI whiteouts become overlayfs ones: `.wh.NAME` a 0/0 character device NAME, `.wh..wh..opq`
 * the `trusted.overlay.opaque=y` xattr on its directory. Ownership, modes (setuid included),
 * mtimes, PAX xattrs, hard links, symlinks, device nodes and fifos are kept. Node has no mknod
 * or setxattr, so those are done in one batch per layer by `mknod` (coreutils, via sh) and
 * `setfattr --restore` (Debian's `attr`).
 */
import { constants } from 'node:fs';
import { chmod, chown, lchown, link, lutimes, mkdir, open, readdir, rm, symlink, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';

import { TscError } from '../../lib/errors.js';
import { runCommand } from './run-command.js';
import type { TarEntry } from './tar-header.js';
import { readTar } from './tar-reader.js';

export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_OPAQUE = '.wh..wh..opq';
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

type Kind = 'dir' | 'file' | 'symlink' | 'special';

export interface ExtractOptions {
  /** Names the layer in errors. */
  what?: string;
  /** Apply the archive's uid/gid (default: when running as root). */
  ownership?: boolean;
}

export interface ExtractResult {
  entries: number;
  whiteouts: number;
  /** Directories marked opaque, relative to the snapshot. */
  opaqueDirs: string[];
  /** Xattrs the filesystem refused (Docker ignores those too), one line each. */
  warnings: string[];
}

interface Special {
  rel: string;
  entry: TarEntry;
  /** A whiteout: char 0/0 with mode 0. */
  whiteout: boolean;
}

/** Clean an archive name lexically; '' is the root. Throws when it climbs out. */
export function cleanArchivePath(raw: string, what: string, role = 'entry'): string {
  const parts: string[] = [];
  for (const p of raw.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (parts.length === 0) {
        throw new TscError('ERR_IMAGE', `${what}: ${role} "${raw}" points outside the layer directory: refused`);
      }
      parts.pop();
      continue;
    }
    if (p.includes('\0')) throw new TscError('ERR_IMAGE', `${what}: ${role} name contains a NUL byte: refused`);
    parts.push(p);
  }
  return parts.join('/');
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i === -1 ? '' : rel.slice(0, i);
}

function baseOf(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

/** `\ooo` for every byte that is not plainly safe, as setfattr's unquote reads. */
function quoteForSetfattr(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._/+-]/.test(c) ? c : `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return out;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export async function extractLayer(source: AsyncIterable<Buffer>, dir: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const what = opts.what ?? 'layer';
  const ownership = opts.ownership ?? (typeof process.getuid === 'function' && process.getuid() === 0);
  const existing = await readdir(dir);
  if (existing.length > 0) throw new Error(`extractLayer: ${dir} is not empty`);

  const kinds = new Map<string, Kind>([['', 'dir']]);
  const dirMeta = new Map<string, TarEntry>();
  const xattrs = new Map<string, Record<string, Buffer>>();
  const opaque = new Set<string>();
  let pending = new Map<string, Special>();
  const result: ExtractResult = { entries: 0, whiteouts: 0, opaqueDirs: [], warnings: [] };
  const abs = (rel: string): string => (rel === '' ? dir : join(dir, rel));

  function refuse(raw: string, why: string): TscError {
    return new TscError('ERR_IMAGE', `${what}: entry "${raw}" ${why}: refused`);
  }

  async function ensureParents(rel: string, raw: string): Promise<void> {
    const parts = rel.split('/');
    let prefix = '';
    for (let i = 0; i < parts.length - 1; i++) {
      prefix = prefix === '' ? (parts[i] as string) : `${prefix}/${parts[i] as string}`;
      const k = kinds.get(prefix);
      if (k === 'dir') continue;
      if (k === undefined) {
        await mkdir(abs(prefix), { mode: 0o755 });
        await chmod(abs(prefix), 0o755);
        kinds.set(prefix, 'dir');
        continue;
      }
      throw refuse(raw, k === 'symlink' ? `goes through the symbolic link "${prefix}"` : `goes through "${prefix}", which is not a directory`);
    }
  }

  function forgetUnder(rel: string, wasDir: boolean): void {
    if (!wasDir) {
      for (const m of [kinds, dirMeta, xattrs, pending] as Map<string, unknown>[]) m.delete(rel);
      return;
    }
    const p = `${rel}/`;
    for (const m of [kinds, dirMeta, xattrs, pending] as Map<string, unknown>[]) {
      for (const k of [...m.keys()]) if (k === rel || k.startsWith(p)) m.delete(k);
    }
    for (const k of [...opaque]) if (k === rel || k.startsWith(p)) opaque.delete(k);
  }

  async function removeExisting(rel: string, keepDir: boolean): Promise<void> {
    const k = kinds.get(rel);
    if (k === undefined) return;
    if (k === 'dir' && keepDir) return;
    if (pending.has(rel)) {
      pending.delete(rel);
    } else if (k === 'dir') {
      await rm(abs(rel), { recursive: true, force: true });
    } else {
      await unlink(abs(rel));
    }
    forgetUnder(rel, k === 'dir');
  }

  async function flushSpecials(): Promise<void> {
    if (pending.size === 0) return;
    const batch = [...pending.values()];
    pending = new Map();
    const lines = batch.map(({ rel, entry, whiteout }) => {
      const mode = whiteout ? 0 : entry.mode & 0o777;
      const spec = whiteout ? 'c 0 0' : entry.type === 'fifo' ? 'p' : `${entry.type === 'char' ? 'c' : 'b'} ${entry.devmajor} ${entry.devminor}`;
      return `mknod -m ${mode.toString(8)} -- ${shellQuote(rel)} ${spec}`;
    });
    const r = await runCommand('sh', ['-e', '-s'], { cwd: dir, input: lines.join('\n') + '\n' });
    if (r.code !== 0) {
      throw new TscError('ERR_IMAGE', `${what}: cannot create device nodes or whiteouts: ${r.stderr.trim()}`, {
        hint: 'whiteouts and device nodes need root (CAP_MKNOD)',
      });
    }
    for (const { rel, entry } of batch) {
      if (ownership) await lchown(abs(rel), entry.uid, entry.gid);
      await lutimes(abs(rel), entry.mtime, entry.mtime);
    }
  }

  async function writeFile(rel: string, entry: TarEntry, body: AsyncIterable<Buffer>): Promise<void> {
    const fh = await open(abs(rel), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      for await (const chunk of body) {
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      }
      if (ownership) await fh.chown(entry.uid, entry.gid);
      await fh.chmod(entry.mode);
      await fh.utimes(entry.mtime, entry.mtime);
    } finally {
      await fh.close();
    }
  }

  for await (const { entry, body } of readTar(source, { what })) {
    result.entries++;
    const raw = entry.name;
    const rel = cleanArchivePath(raw, what);
    if (rel === '') {
      if (entry.type === 'dir') dirMeta.set('', entry);
      else throw refuse(raw, 'names the layer root but is not a directory');
      continue;
    }
    await ensureParents(rel, raw);
    const base = baseOf(rel);
    const parent = parentOf(rel);

    if (base.startsWith(WHITEOUT_PREFIX)) {
      if (base === WHITEOUT_OPAQUE) {
        opaque.add(parent);
        continue;
      }
      if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) continue; // aufs metadata: ignored, as Docker does
      const hidden = base.slice(WHITEOUT_PREFIX.length);
      if (hidden === '' || hidden === '.' || hidden === '..') throw refuse(raw, 'is a whiteout of nothing');
      const target = parent === '' ? hidden : `${parent}/${hidden}`;
      await removeExisting(target, false);
      pending.set(target, { rel: target, entry, whiteout: true });
      kinds.set(target, 'special');
      result.whiteouts++;
      continue;
    }

    switch (entry.type) {
      case 'dir':
        await removeExisting(rel, true);
        if (!kinds.has(rel)) {
          await mkdir(abs(rel), { mode: 0o700 });
          kinds.set(rel, 'dir');
        }
        dirMeta.set(rel, entry);
        break;
      case 'file':
        await removeExisting(rel, false);
        kinds.set(rel, 'file');
        await writeFile(rel, entry, body);
        break;
      case 'symlink':
        await removeExisting(rel, false);
        if (entry.linkname === '') throw refuse(raw, 'is a symbolic link to nothing');
        await symlink(entry.linkname, abs(rel));
        kinds.set(rel, 'symlink');
        if (ownership) await lchown(abs(rel), entry.uid, entry.gid);
        await lutimes(abs(rel), entry.mtime, entry.mtime);
        break;
      case 'link': {
        const target = cleanArchivePath(entry.linkname, what, `hard link target of "${raw}"`);
        const tk = kinds.get(target);
        if (tk === undefined) throw refuse(raw, `is a hard link to "${entry.linkname}", which is not an earlier entry of this layer`);
        if (tk === 'dir') throw refuse(raw, `is a hard link to the directory "${entry.linkname}"`);
        if (target === rel) break;
        if (pending.has(target)) await flushSpecials();
        await removeExisting(rel, false);
        // link(2) does not follow a symlink target, and the target's parents are known directories.
        await link(abs(target), abs(rel));
        kinds.set(rel, tk);
        break;
      }
      case 'char':
      case 'block':
      case 'fifo':
        await removeExisting(rel, false);
        pending.set(rel, { rel, entry, whiteout: false });
        kinds.set(rel, 'special');
        break;
    }
    const keep = Object.entries(entry.xattrs).filter(([k]) => !k.startsWith('trusted.overlay.'));
    if (keep.length > 0) xattrs.set(rel, Object.fromEntries(keep));
  }

  await flushSpecials();

  // Opaque markers are part of the layer's meaning: failing to set one is an error.
  const opaqueDirs = [...opaque].sort();
  if (opaqueDirs.length > 0) {
    const dump = opaqueDirs.map((d) => `# file: ${quoteForSetfattr(d === '' ? '.' : d)}\n${OPAQUE_XATTR}="y"\n`).join('\n');
    const r = await runSetfattr(dir, dump);
    if (r.code !== 0) {
      throw new TscError('ERR_IMAGE', `${what}: cannot mark opaque directories: ${r.stderr.trim()}`, {
        hint: 'trusted.* xattrs need root; setfattr comes with Debian\'s "attr" package',
      });
    }
  }
  result.opaqueDirs = opaqueDirs;
  // Other xattrs: what the filesystem refuses is reported, not fatal (Docker ignores it too).
  if (xattrs.size > 0) {
    const dump = [...xattrs]
      .map(([rel, xs]) => `# file: ${quoteForSetfattr(rel)}\n${Object.entries(xs).map(([k, v]) => `${quoteForSetfattr(k)}=0x${v.toString('hex')}`).join('\n')}\n`)
      .join('\n');
    const r = await runSetfattr(dir, dump);
    if (r.code !== 0) result.warnings.push(...r.stderr.trim().split('\n'));
  }

  // Directories last, deepest first, so that adding children does not move their mtimes.
  if (!dirMeta.has('')) await chmod(dir, 0o755);
  const dirs = [...kinds].filter(([, k]) => k === 'dir').map(([rel]) => rel);
  dirs.sort((a, b) => b.split('/').length - a.split('/').length);
  for (const rel of dirs) {
    const e = dirMeta.get(rel);
    if (e === undefined) continue;
    if (ownership) await chown(abs(rel), e.uid, e.gid);
    await chmod(abs(rel), e.mode);
    await utimes(abs(rel), e.mtime, e.mtime);
  }
  return result;
}

async function runSetfattr(dir: string, dump: string): Promise<{ code: number; stderr: string }> {
  try {
    return await runCommand('setfattr', ['-h', '--restore=-'], { cwd: dir, input: dump });
  } catch (cause) {
    throw new TscError('ERR_IMAGE', 'cannot set extended attributes: setfattr is missing', {
      hint: 'install Debian\'s "attr" package',
      cause,
    });
  }
}
