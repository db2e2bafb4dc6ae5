/**
 * A build step's changes as an OCI layer: the overlay upper directory (or a `--link` step's own
 * directory) walked in sorted order and written as an uncompressed tar straight into the image
 * store, hashed on the way (its digest is its diff ID). overlayfs' whiteouts (0/0 character
 * devices) become `.wh.NAME` entries and opaque directories (`trusted.overlay.opaque=y`) get a
 * `.wh..wh..opq` entry, as the OCI image spec's changeset rules say; hard links inside the layer
 * stay hard links. Paths in `exclude` (mount points the runtime made) are left out.
 */
import type { Stats } from 'node:fs';
import { createHash } from 'node:crypto';
import { lstat, open, readdir, readlink, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { TscError } from '../../lib/errors.js';
import type { ImageStore } from '../images/image-store.js';
import { runCommand } from '../images/run-command.js';
import { TAR_END, tarHeader, tarPadding } from '../images/tar-writer.js';
import type { TarWriteEntry } from '../images/tar-writer.js';

export interface LayerBlob {
  /** sha256 of the tar: blob digest and diff ID at once (the layer is stored uncompressed). */
  digest: string;
  size: number;
  /** Entries written (0: the step changed nothing). */
  entries: number;
}

/** A path as getfattr prints it (`\\ooo` octal escapes) back to itself. */
export function unescapeGetfattr(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const m = /^\\([0-7]{3})/.exec(s.slice(i));
    if (m !== null) {
      bytes.push(parseInt(m[1] as string, 8));
      i += 3;
    } else bytes.push(...Buffer.from(s[i] as string));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The directories among `dirs` that overlayfs marked opaque. */
async function opaqueDirs(dirs: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < dirs.length; i += 200) {
    const batch = dirs.slice(i, i + 200);
    const r = await runCommand('getfattr', ['-h', '--absolute-names', '-e', 'text', '-n', 'trusted.overlay.opaque', '--', ...batch]);
    let file: string | undefined;
    for (const line of r.stdout.split('\n')) {
      if (line.startsWith('# file: ')) file = unescapeGetfattr(line.slice(8));
      else if (file !== undefined && line === 'trusted.overlay.opaque="y"') out.add(file);
    }
  }
  return out;
}

/** Write the changes in `dir` as a layer blob in the store. */
export async function writeLayer(store: ImageStore, dir: string, opts: { overlay: boolean; exclude?: ReadonlySet<string> }): Promise<LayerBlob> {
  const exclude = opts.exclude ?? new Set<string>();
  const tmp = await store.tempDir('layer-');
  const file = join(tmp.path, 'layer.tar');
  const fh = await open(file, 'w', 0o644);
  const hash = createHash('sha256');
  let size = 0;
  let entries = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    const b = Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    await fh.write(b);
  };
  const emit = async (b: Buffer): Promise<void> => {
    hash.update(b);
    size += b.length;
    pending.push(b);
    pendingBytes += b.length;
    if (pendingBytes >= 1 << 20) await flush();
  };
  try {
    // The walk: collect entries first (sorted), then ask for opaque markers in one go.
    const list: Array<{ rel: string; abs: string; st: Stats }> = [];
    const walk = async (abs: string, rel: string): Promise<void> => {
      for (const name of (await readdir(abs)).sort()) {
        const childRel = rel === '' ? name : `${rel}/${name}`;
        if (exclude.has(childRel)) continue;
        const p = join(abs, name);
        const st = await lstat(p);
        list.push({ rel: childRel, abs: p, st });
        if (st.isDirectory()) await walk(p, childRel);
      }
    };
    await walk(dir, '');
    const opaque = opts.overlay ? await opaqueDirs(list.filter((e) => e.st.isDirectory()).map((e) => e.abs)) : new Set<string>();
    const links = new Map<string, string>();
    for (const { rel, abs, st } of list) {
      const base: TarWriteEntry = { name: rel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
      entries++;
      if (opts.overlay && st.isCharacterDevice() && st.rdev === 0) {
        const slash = rel.lastIndexOf('/');
        const name = slash < 0 ? `.wh.${rel}` : `${rel.slice(0, slash)}/.wh.${rel.slice(slash + 1)}`;
        await emit(tarHeader({ name, mode: 0o644, mtime: base.mtime }));
        continue;
      }
      if (st.isDirectory()) {
        await emit(tarHeader({ ...base, name: `${rel}/`, type: 'dir' }));
        if (opaque.has(abs)) await emit(tarHeader({ name: `${rel}/.wh..wh..opq`, mode: 0o644, mtime: base.mtime }));
      } else if (st.isSymbolicLink()) {
        await emit(tarHeader({ ...base, type: 'symlink', linkname: await readlink(abs) }));
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first !== undefined) {
          await emit(tarHeader({ ...base, type: 'link', linkname: first }));
          continue;
        }
        if (st.nlink > 1) links.set(key, rel);
        await emit(tarHeader({ ...base, type: 'file', size: st.size }));
        await flush();
        const src = await open(abs, 'r');
        try {
          let left = st.size;
          const buf = Buffer.allocUnsafe(1 << 20);
          while (left > 0) {
            const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, left));
            if (bytesRead === 0) throw new TscError('ERR_IMAGE', `file ${rel} shrank while its layer was written`);
            const chunk = Buffer.from(buf.subarray(0, bytesRead));
            hash.update(chunk);
            size += bytesRead;
            await fh.write(chunk);
            left -= bytesRead;
          }
        } finally {
          await src.close();
        }
        await emit(tarPadding(st.size));
      } else if (st.isFIFO()) {
        await emit(tarHeader({ ...base, type: 'fifo' }));
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const devmajor = Math.floor(st.rdev / 256) & 0xfff;
        const devminor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
        await emit(tarHeader({ ...base, type: st.isCharacterDevice() ? 'char' : 'block', devmajor, devminor }));
      } else {
        entries--; // sockets are not part of a layer
      }
    }
    await emit(TAR_END);
    await flush();
    await fh.sync();
    await fh.close();
    const digest = `sha256:${hash.digest('hex')}`;
    const blob = store.blobPath(digest);
    const present = await stat(blob).then(
      () => true,
      () => false,
    );
    if (!present) await rename(file, blob);
    return { digest, size, entries };
  } catch (e) {
    await fh.close().catch(() => {});
    throw e;
  } finally {
    await rm(file, { force: true });
    await tmp.done();
  }
}
