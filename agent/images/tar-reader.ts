/**
 * A streaming tar reader. `readTar` yields one entry at a time with its body as an async
 * iterable of chunks; a body the caller does not read is skipped. Nothing is buffered but
 * headers and PAX/GNU records, so a layer of any size streams through in constant memory.
 * Formats: ustar, PAX (`x` and `g`), GNU long names (`L`, `K`), GNU base-256 numbers.
 * Sparse files and other exotic types are refused with a TscError rather than misread.
 */
import { TscError } from '../../lib/errors.js';
import { createByteReader } from './byte-reader.js';
import type { TarEntry } from './tar-header.js';
import { BLOCK, headerChecksum, isZeroBlock, parsePax, readNumber, readString, typeFromFlag } from './tar-header.js';

export interface TarItem {
  entry: TarEntry;
  /** The file's data (empty for everything but regular files). Read it or leave it. */
  body: AsyncIterable<Buffer>;
}

/** Records (PAX, long names) are small; a bigger one is a hostile or broken archive. */
const MAX_RECORD = 1 << 20;

function bad(message: string, what: string): TscError {
  return new TscError('ERR_IMAGE', `${what}: ${message}`);
}

export interface ReadTarOptions {
  /** Names the archive in errors, e.g. "layer sha256:ab12...". */
  what?: string;
}

export async function* readTar(source: AsyncIterable<Buffer | Uint8Array | string>, opts: ReadTarOptions = {}): AsyncGenerator<TarItem> {
  const what = opts.what ?? 'tar archive';
  const r = createByteReader(source);
  const globalPax = new Map<string, Buffer>();
  let pax = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;

  async function readRecord(size: number, kind: string): Promise<Buffer> {
    if (size > MAX_RECORD) throw bad(`${kind} record of ${size} bytes is too large`, what);
    const data = await r.read(size);
    if (data.length < size) throw bad('unexpected end of archive', what);
    await skipPadding(size);
    return Buffer.from(data);
  }

  async function skipPadding(size: number): Promise<void> {
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad > 0 && (await r.skip(pad)) < pad) throw bad('unexpected end of archive', what);
  }

  for (;;) {
    const header = await r.read(BLOCK);
    if (header.length === 0) return; // tolerate archives without the two zero blocks
    if (header.length < BLOCK) throw bad('unexpected end of archive', what);
    if (isZeroBlock(header)) return; // end of archive (the second zero block and padding are ignored)
    const stored = readNumber(header, 148, 8);
    const sum = headerChecksum(header);
    let signedSum = 0;
    for (let i = 0; i < BLOCK; i++) signedSum += i >= 148 && i < 156 ? 32 : ((header[i] ?? 0) << 24) >> 24;
    if (stored !== sum && stored !== signedSum) throw bad('bad header checksum (not a tar archive, or corrupted)', what);

    const flag = String.fromCharCode(header[156] ?? 0);
    let size = readNumber(header, 124, 12);
    if (!Number.isSafeInteger(size) || size < 0) throw bad('bad size field in header', what);

    if (flag === 'x' || flag === 'g') {
      const records = parsePaxSafe(await readRecord(size, 'PAX'), what);
      if (flag === 'g') for (const [k, v] of records) globalPax.set(k, v);
      else pax = records;
      continue;
    }
    if (flag === 'L' || flag === 'K') {
      const data = await readRecord(size, 'GNU long name');
      const nul = data.indexOf(0);
      const s = data.subarray(0, nul === -1 ? data.length : nul).toString('utf8');
      if (flag === 'L') longName = s;
      else longLink = s;
      continue;
    }
    const type = typeFromFlag(flag);
    if (type === undefined) {
      const kind = flag === 'S' ? 'GNU sparse file' : `entry type ${JSON.stringify(flag)}`;
      throw new TscError('ERR_UNSUPPORTED', `${what}: ${kind} is not supported`);
    }

    const all = new Map([...globalPax, ...pax]);
    const magic = header.subarray(257, 263).toString('latin1');
    const prefix = magic === 'ustar\0' ? readString(header, 345, 155) : '';
    let name = readString(header, 0, 100);
    if (prefix !== '') name = `${prefix}/${name}`;
    const str = (k: string): string | undefined => all.get(k)?.toString('utf8');
    const num = (k: string, fallback: number): number => {
      const v = str(k);
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isFinite(n)) throw bad(`bad PAX ${k} value ${JSON.stringify(v)}`, what);
      return n;
    };
    name = str('path') ?? longName ?? name;
    const linkname = str('linkpath') ?? longLink ?? readString(header, 157, 100);
    size = num('size', size);
    if (!Number.isSafeInteger(size) || size < 0) throw bad(`bad size for ${name}`, what);
    if (all.has('GNU.sparse.major') || all.has('GNU.sparse.size')) {
      throw new TscError('ERR_UNSUPPORTED', `${what}: sparse file ${name} is not supported`);
    }
    const xattrs: Record<string, Buffer> = {};
    for (const [k, v] of all) {
      if (k.startsWith('SCHILY.xattr.')) xattrs[k.slice('SCHILY.xattr.'.length)] = v;
      else if (k.startsWith('LIBARCHIVE.xattr.')) {
        const key = decodeURIComponent(k.slice('LIBARCHIVE.xattr.'.length));
        xattrs[key] = Buffer.from(v.toString('ascii'), 'base64');
      }
    }
    const entry: TarEntry = {
      name,
      type,
      mode: readNumber(header, 100, 8) & 0o7777,
      uid: num('uid', readNumber(header, 108, 8)),
      gid: num('gid', readNumber(header, 116, 8)),
      size: type === 'file' ? size : 0,
      mtime: num('mtime', readNumber(header, 136, 12)),
      linkname,
      uname: str('uname') ?? readString(header, 265, 32),
      gname: str('gname') ?? readString(header, 297, 32),
      devmajor: readNumber(header, 329, 8),
      devminor: readNumber(header, 337, 8),
      xattrs,
    };
    for (const k of ['mode', 'uid', 'gid', 'mtime', 'devmajor', 'devminor'] as const) {
      if (Number.isNaN(entry[k])) throw bad(`bad ${k} field in header of ${name}`, what);
    }
    pax = new Map();
    longName = undefined;
    longLink = undefined;

    // As Go's archive/tar does, only regular files have data; other types' sizes are ignored.
    const dataSize = type === 'file' ? size : 0;
    let remaining = dataSize;
    let opened = false;
    const body: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: () => {
        if (opened) throw new Error('tar entry body read twice');
        opened = true;
        return (async function* () {
          for await (const c of r.chunks(remaining)) {
            remaining -= c.length;
            yield c;
          }
          if (remaining > 0) throw bad(`unexpected end of archive in ${name}`, what);
        })();
      },
    };
    yield { entry, body };
    opened = true;
    if (remaining > 0 && (await r.skip(remaining)) < remaining) throw bad(`unexpected end of archive in ${name}`, what);
    await skipPadding(dataSize);
  }
}

function parsePaxSafe(data: Buffer, what: string): Map<string, Buffer> {
  try {
    return parsePax(data);
  } catch (e) {
    throw bad((e as Error).message, what);
  }
}
