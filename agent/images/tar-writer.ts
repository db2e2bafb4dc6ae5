/**
 * A small tar writer: ustar headers, with a PAX header in front when a name, link, size or
 * xattr does not fit (or GNU `L`/`K` records when asked). It writes what it is given without
 * judging it, which is what `image save` needs and what the hostile-archive tests need.
 */
import type { TarEntryType } from './tar-header.js';
import { BLOCK, TYPE_FLAGS, headerChecksum, paxRecord } from './tar-header.js';

export interface TarWriteEntry {
  name: string;
  type?: TarEntryType | undefined;
  mode?: number | undefined;
  uid?: number | undefined;
  gid?: number | undefined;
  size?: number | undefined;
  mtime?: number | undefined;
  linkname?: string | undefined;
  uname?: string | undefined;
  gname?: string | undefined;
  devmajor?: number | undefined;
  devminor?: number | undefined;
  xattrs?: Record<string, Buffer | string> | undefined;
  /** How to write names longer than 100 bytes: PAX (default) or GNU long-name records. */
  longNames?: 'pax' | 'gnu' | undefined;
}

export const TAR_END = Buffer.alloc(2 * BLOCK);

function writeString(b: Buffer, off: number, len: number, s: string): void {
  Buffer.from(s, 'utf8').copy(b, off, 0, len);
}

function writeOctal(b: Buffer, off: number, len: number, n: number): void {
  const s = Math.max(0, Math.floor(n)).toString(8);
  b.write(s.padStart(len - 1, '0') + '\0', off, len, 'ascii');
}

function fitsOctal(n: number, len: number): boolean {
  return n >= 0 && Math.floor(n).toString(8).length <= len - 1;
}

function rawHeader(e: TarWriteEntry, flag: string, name: string, linkname: string, size: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  writeString(b, 0, 100, name);
  writeOctal(b, 100, 8, e.mode ?? (e.type === 'dir' ? 0o755 : 0o644));
  writeOctal(b, 108, 8, fitsOctal(e.uid ?? 0, 8) ? (e.uid ?? 0) : 0);
  writeOctal(b, 116, 8, fitsOctal(e.gid ?? 0, 8) ? (e.gid ?? 0) : 0);
  writeOctal(b, 124, 12, fitsOctal(size, 12) ? size : 0);
  writeOctal(b, 136, 12, fitsOctal(e.mtime ?? 0, 12) ? (e.mtime ?? 0) : 0);
  b.write(flag, 156, 1, 'latin1');
  writeString(b, 157, 100, linkname);
  b.write('ustar\0', 257, 6, 'latin1');
  b.write('00', 263, 2, 'latin1');
  writeString(b, 265, 32, e.uname ?? '');
  writeString(b, 297, 32, e.gname ?? '');
  writeOctal(b, 329, 8, e.devmajor ?? 0);
  writeOctal(b, 337, 8, e.devminor ?? 0);
  const sum = headerChecksum(b);
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

function withData(header: Buffer, data: Buffer): Buffer {
  return Buffer.concat([header, data, tarPadding(data.length)]);
}

/** Zero bytes to pad `size` bytes of data to a whole block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The header block(s) for one entry; the caller writes its data and `tarPadding` after. */
export function tarHeader(e: TarWriteEntry): Buffer {
  const type = e.type ?? 'file';
  const size = type === 'file' ? (e.size ?? 0) : 0;
  const linkname = e.linkname ?? '';
  const parts: Buffer[] = [];
  const pax: Buffer[] = [];
  const nameBytes = Buffer.byteLength(e.name);
  const linkBytes = Buffer.byteLength(linkname);
  let name = e.name;
  let link = linkname;
  if (e.longNames === 'gnu') {
    if (nameBytes > 100) {
      const data = Buffer.from(e.name + '\0');
      parts.push(withData(rawHeader({ name: '././@LongLink' }, 'L', '././@LongLink', '', data.length), data));
      name = e.name.slice(0, 100);
    }
    if (linkBytes > 100) {
      const data = Buffer.from(linkname + '\0');
      parts.push(withData(rawHeader({ name: '././@LongLink' }, 'K', '././@LongLink', '', data.length), data));
      link = linkname.slice(0, 100);
    }
  } else {
    if (nameBytes > 100) {
      pax.push(paxRecord('path', e.name));
      name = e.name.slice(0, 100);
    }
    if (linkBytes > 100) {
      pax.push(paxRecord('linkpath', linkname));
      link = linkname.slice(0, 100);
    }
  }
  if (!fitsOctal(size, 12)) pax.push(paxRecord('size', String(size)));
  if (!fitsOctal(e.uid ?? 0, 8)) pax.push(paxRecord('uid', String(e.uid)));
  if (!fitsOctal(e.gid ?? 0, 8)) pax.push(paxRecord('gid', String(e.gid)));
  if (e.mtime !== undefined && !Number.isInteger(e.mtime)) pax.push(paxRecord('mtime', e.mtime.toFixed(9)));
  for (const [k, v] of Object.entries(e.xattrs ?? {})) pax.push(paxRecord(`SCHILY.xattr.${k}`, v));
  if (pax.length > 0) {
    const data = Buffer.concat(pax);
    const paxName = `PaxHeaders/${e.name.split('/').filter(Boolean).pop() ?? 'x'}`.slice(0, 100);
    parts.push(withData(rawHeader({ name: paxName }, 'x', paxName, '', data.length), data));
  }
  parts.push(rawHeader(e, TYPE_FLAGS[type], name, link, size));
  return Buffer.concat(parts);
}

export interface TarFileEntry extends TarWriteEntry {
  data?: Buffer | string | undefined;
}

/** A whole archive in memory: for small archives (manifests, tests). */
export function tarBuffer(entries: readonly TarFileEntry[], end = true): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
    parts.push(tarHeader({ ...e, size: (e.type ?? 'file') === 'file' ? data.length : 0 }));
    if ((e.type ?? 'file') === 'file') parts.push(data, tarPadding(data.length));
  }
  if (end) parts.push(TAR_END);
  return Buffer.concat(parts);
}
