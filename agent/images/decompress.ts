/**
 * Layers come plain, gzip or zstd compressed; the first bytes say which. gzip goes through
 * node:zlib. Node 20's zlib has no zstd, so a zstd layer is refused with a clear error
 * (Node 22.15+ has `createZstdDecompress`, which is used when present).
 */
import { Readable, pipeline } from 'node:stream';
import * as zlib from 'node:zlib';
import type { Transform } from 'node:stream';

import { TscError } from '../../lib/errors.js';

export type Compression = 'none' | 'gzip' | 'zstd';

export function detectCompression(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

type ZstdFactory = (opts?: zlib.ZlibOptions) => Transform;

function zstdFactory(): ZstdFactory | undefined {
  const f = (zlib as unknown as { createZstdDecompress?: ZstdFactory }).createZstdDecompress;
  return typeof f === 'function' ? f : undefined;
}

/** Decompressed bytes of `source`, whatever its compression. `what` names it in errors. */
export async function* decompress(source: AsyncIterable<Buffer>, what: string): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  const buffered: Buffer[] = [];
  let head = Buffer.alloc(0);
  while (head.length < 4) {
    const r = await it.next();
    if (r.done === true) break;
    buffered.push(r.value);
    head = Buffer.concat([head, r.value]);
  }
  async function* rest(): AsyncGenerator<Buffer> {
    try {
      yield* buffered;
      for (;;) {
        const r = await it.next();
        if (r.done === true) return;
        yield r.value;
      }
    } finally {
      await it.return?.();
    }
  }
  const kind = detectCompression(head);
  if (kind === 'none') {
    yield* rest();
    return;
  }
  let transform: Transform;
  if (kind === 'gzip') transform = zlib.createGunzip({ chunkSize: 128 * 1024 });
  else {
    const make = zstdFactory();
    if (make === undefined) {
      throw new TscError('ERR_UNSUPPORTED', `${what} is zstd-compressed, which this Node.js (${process.version}) cannot decompress`, {
        hint: 'use Node.js 22.15 or later, or an image with gzip layers',
      });
    }
    transform = make({ chunkSize: 128 * 1024 });
  }
  const input = Readable.from(rest(), { objectMode: false });
  pipeline(input, transform, () => {});
  try {
    for await (const chunk of transform) yield chunk as Buffer;
  } catch (cause) {
    if (cause instanceof TscError) throw cause;
    throw new TscError('ERR_IMAGE', `${what}: ${kind} data is corrupt: ${(cause as Error).message}`, { cause });
  } finally {
    input.destroy();
    transform.destroy();
  }
}
