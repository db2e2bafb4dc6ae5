/**
 * A bounded queue of chunks from one producer to one consumer, for extracting a layer while
 * it downloads. `push` waits while the queue is full (backpressure on the download); a
 * consumer that stops (`return()` on its iterator) detaches it, and the producer then runs on
 * as if nobody listened, so a failed extraction never stalls a download.
 */
export interface ChunkQueue {
  push(chunk: Buffer): Promise<void>;
  end(): void;
  fail(err: Error): void;
  /** Drop everything queued and ignore later pushes. */
  detach(): void;
  readonly iterable: AsyncIterable<Buffer>;
}

export function createChunkQueue(limit = 16): ChunkQueue {
  const chunks: Buffer[] = [];
  let ended = false;
  let error: Error | undefined;
  let detached = false;
  let wakeConsumer: (() => void) | undefined;
  const producers: Array<() => void> = [];

  const wakeProducers = (): void => {
    while (producers.length > 0 && (detached || chunks.length < limit)) producers.shift()?.();
  };
  const wake = (): void => {
    const w = wakeConsumer;
    wakeConsumer = undefined;
    w?.();
  };

  const q: ChunkQueue = {
    async push(chunk) {
      if (detached || ended) return;
      chunks.push(chunk);
      wake();
      if (chunks.length >= limit) await new Promise<void>((r) => producers.push(r));
    },
    end() {
      ended = true;
      wake();
    },
    fail(err) {
      error ??= err;
      ended = true;
      wake();
    },
    detach() {
      detached = true;
      chunks.length = 0;
      wakeProducers();
    },
    iterable: {
      [Symbol.asyncIterator]: () => ({
        async next(): Promise<IteratorResult<Buffer>> {
          for (;;) {
            const c = chunks.shift();
            if (c !== undefined) {
              wakeProducers();
              return { value: c, done: false };
            }
            if (error !== undefined) throw error;
            if (ended || detached) return { value: undefined, done: true };
            await new Promise<void>((r) => {
              wakeConsumer = r;
            });
          }
        },
        async return(): Promise<IteratorResult<Buffer>> {
          q.detach();
          return { value: undefined, done: true };
        },
      }),
    },
  };
  return q;
}
