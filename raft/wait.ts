/**
 * A registry of promises keyed by request id (swarmkit's manager/state/raft/wait.go): a
 * proposer registers an id and awaits it; the apply loop triggers the id when the entry that
 * carries it is applied; on losing leadership or stopping, everything pending is rejected.
 */
interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

export class Wait<T> {
  private readonly waiters = new Map<string, Waiter<T>>();

  /** A promise that settles when `id` is triggered or cancelled. Registering an id twice is a bug. */
  register(id: string): Promise<T> {
    if (this.waiters.has(id)) throw new Error(`wait: duplicate id ${id}`);
    return new Promise<T>((resolve, reject) => this.waiters.set(id, { resolve, reject }));
  }

  /** Resolves `id`; false if nobody waits for it (e.g. a proposal made on another node). */
  trigger(id: string, value: T): boolean {
    const w = this.waiters.get(id);
    if (w === undefined) return false;
    this.waiters.delete(id);
    w.resolve(value);
    return true;
  }

  cancel(id: string, err: Error): void {
    const w = this.waiters.get(id);
    if (w === undefined) return;
    this.waiters.delete(id);
    w.reject(err);
  }

  /** Rejects every pending waiter (leadership lost, node stopping). */
  cancelAll(err: Error): void {
    const all = [...this.waiters.values()];
    this.waiters.clear();
    for (const w of all) w.reject(err);
  }

  isRegistered(id: string): boolean {
    return this.waiters.has(id);
  }

  size(): number {
    return this.waiters.size;
  }
}
