/**
 * Debouncing of file events into batches, as a pure state machine (time is an argument): a
 * batch is due once no event came for `quietMs`, or `maxDelayMs` after its first event however
 * busy the tree is. docker compose waits a fixed 500 ms of quiet; a short quiet period with a
 * cap gets a single save into the container in tens of milliseconds, and a `git checkout` of
 * thousands of files still into one batch (or a few), never an endless wait.
 */
export interface BatcherOptions {
  quietMs: number;
  maxDelayMs: number;
}

export const DEFAULT_BATCHING: BatcherOptions = { quietMs: 20, maxDelayMs: 250 };

export interface ChangeBatcher<T> {
  add(item: T, now: number): void;
  /** When the pending batch is due (same clock as `now`), undefined when nothing is pending. */
  dueAt(): number | undefined;
  /** The pending batch, emptied, if it is due at `now`. */
  take(now: number): T[] | undefined;
}

export function createChangeBatcher<T>(opts: BatcherOptions = DEFAULT_BATCHING): ChangeBatcher<T> {
  let items: T[] = [];
  let first = 0;
  let last = 0;
  const dueAt = () => (items.length === 0 ? undefined : Math.min(last + opts.quietMs, first + opts.maxDelayMs));
  return {
    add(item, now) {
      if (items.length === 0) first = now;
      last = now;
      items.push(item);
    },
    dueAt,
    take(now) {
      const due = dueAt();
      if (due === undefined || now < due) return undefined;
      const out = items;
      items = [];
      return out;
    },
  };
}
