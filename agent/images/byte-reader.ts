/**
 * Exact-length reads over an async stream of chunks, without copying big bodies: the tar
 * reader asks for 512-byte headers with `read` and passes file data on with `chunks`.
 */
export interface ByteReader {
  /** Exactly `n` bytes, or fewer only at the end of the stream. */
  read(n: number): Promise<Buffer>;
  /** The next `n` bytes as they arrive (slices of the input chunks); fewer at the end. */
  chunks(n: number): AsyncGenerator<Buffer, number>;
  /** Drop the next `n` bytes; returns how many were dropped. */
  skip(n: number): Promise<number>;
}

export function createByteReader(source: AsyncIterable<Buffer | Uint8Array | string>): ByteReader {
  const it = source[Symbol.asyncIterator]();
  let pending: Buffer = Buffer.alloc(0);
  let done = false;

  async function fill(): Promise<boolean> {
    if (done) return false;
    const r = await it.next();
    if (r.done === true) {
      done = true;
      return false;
    }
    const v = r.value;
    const chunk = typeof v === 'string' ? Buffer.from(v) : Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    return true;
  }

  async function read(n: number): Promise<Buffer> {
    while (pending.length < n) {
      if (!(await fill())) break;
    }
    const out = pending.subarray(0, Math.min(n, pending.length));
    pending = pending.subarray(out.length);
    return out;
  }

  async function* chunks(n: number): AsyncGenerator<Buffer, number> {
    let left = n;
    while (left > 0) {
      if (pending.length === 0 && !(await fill())) break;
      const take = Math.min(left, pending.length);
      const out = pending.subarray(0, take);
      pending = pending.subarray(take);
      left -= take;
      yield out;
    }
    return n - left;
  }

  async function skip(n: number): Promise<number> {
    let got = 0;
    const g = chunks(n);
    for await (const c of g) got += c.length;
    return got;
  }

  return { read, chunks, skip };
}
