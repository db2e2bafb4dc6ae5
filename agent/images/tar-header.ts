/**
 * The tar formats we read and write: POSIX ustar with PAX extended headers (long names,
 * big sizes, fractional mtimes, `SCHILY.xattr.*`), and the GNU long-name records (`L`, `K`)
 * that GNU tar and older Docker layers use. One 512-byte block per header.
 */
export const BLOCK = 512;

export type TarEntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarEntry {
  /** Path as written in the archive (not yet made safe: the extractor does that). */
  name: string;
  type: TarEntryType;
  /** Permission bits including setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch, possibly fractional (PAX). */
  mtime: number;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from PAX `SCHILY.xattr.*` (and `LIBARCHIVE.xattr.*`). */
  xattrs: Record<string, Buffer>;
}

export const TYPE_FLAGS: Record<TarEntryType, string> = {
  file: '0',
  link: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

export function typeFromFlag(flag: string): TarEntryType | undefined {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '1':
      return 'link';
    case '2':
      return 'symlink';
    case '3':
      return 'char';
    case '4':
      return 'block';
    case '5':
      return 'dir';
    case '6':
      return 'fifo';
    default:
      return undefined;
  }
}

/** A NUL-terminated string field. */
export function readString(b: Buffer, off: number, len: number): string {
  const field = b.subarray(off, off + len);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? len : nul).toString('utf8');
}

/** An octal number field, or GNU base-256 when the top bit of the first byte is set. */
export function readNumber(b: Buffer, off: number, len: number): number {
  const first = b[off] ?? 0;
  if ((first & 0x80) !== 0) {
    // base-256, two's complement when 0xff
    const negative = (first & 0x40) !== 0;
    let v = 0;
    for (let i = 0; i < len; i++) {
      let byte = b[off + i] ?? 0;
      if (i === 0) byte &= 0x7f;
      if (negative) byte ^= 0xff;
      v = v * 256 + byte;
    }
    return negative ? -(v + 1) : v;
  }
  const s = readString(b, off, len).replace(/[\s\0]+$/, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) return Number.NaN;
  return parseInt(s, 8);
}

/** The header checksum: the sum of all bytes with the checksum field read as spaces. */
export function headerChecksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (b[i] ?? 0);
  return sum;
}

export function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Parse PAX records: `"%d %s=%s\n"`, the length counting the whole record. */
export function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    if (sp === -1) break;
    const len = parseInt(data.subarray(pos, sp).toString('ascii'), 10);
    if (!Number.isFinite(len) || len <= 0 || pos + len > data.length) throw new Error(`malformed PAX record at offset ${pos}`);
    const record = data.subarray(sp + 1, pos + len - 1); // without the trailing newline
    const eq = record.indexOf(0x3d);
    if (eq === -1) throw new Error(`malformed PAX record at offset ${pos}`);
    out.set(record.subarray(0, eq).toString('utf8'), Buffer.from(record.subarray(eq + 1)));
    pos += len;
  }
  return out;
}

/** Encode one PAX record, finding the self-including length. */
export function paxRecord(key: string, value: Buffer | string): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}
