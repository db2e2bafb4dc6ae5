/**
 * Flow control for one follower in replicate state: the MsgApps sent but not yet acknowledged,
 * as (last index, bytes) pairs in a ring. The leader stops sending once `maxCount` messages or
 * `maxBytes` bytes are in flight, and frees them as acknowledgements arrive.
 */
export class Inflights {
  private start = 0;
  private count = 0;
  private bytes = 0;
  private readonly indexes: number[];
  private readonly sizes: number[];

  constructor(
    readonly maxCount: number,
    readonly maxBytes: number = 0,
  ) {
    if (maxCount <= 0) throw new Error(`inflights: max count must be positive, got ${maxCount}`);
    this.indexes = new Array<number>(maxCount).fill(0);
    this.sizes = new Array<number>(maxCount).fill(0);
  }

  clone(): Inflights {
    const c = new Inflights(this.maxCount, this.maxBytes);
    c.start = this.start;
    c.count = this.count;
    c.bytes = this.bytes;
    for (let i = 0; i < this.maxCount; i++) {
      c.indexes[i] = this.indexes[i] as number;
      c.sizes[i] = this.sizes[i] as number;
    }
    return c;
  }

  /** Records a MsgApp whose last entry is `index`. Indexes must increase. */
  add(index: number, bytes: number): void {
    if (this.full()) throw new Error('inflights: cannot add into a full inflights');
    const next = (this.start + this.count) % this.maxCount;
    if (this.count > 0) {
      const last = this.indexes[(next + this.maxCount - 1) % this.maxCount] as number;
      if (index <= last) throw new Error(`inflights: index ${index} not above the last one ${last}`);
    }
    this.indexes[next] = index;
    this.sizes[next] = bytes;
    this.count++;
    this.bytes += bytes;
  }

  /** Frees every message whose last index is at or below `to` (they were acknowledged). */
  freeLE(to: number): void {
    let freed = 0;
    let bytes = 0;
    let idx = this.start;
    while (freed < this.count && (this.indexes[idx] as number) <= to) {
      bytes += this.sizes[idx] as number;
      freed++;
      idx = (idx + 1) % this.maxCount;
    }
    this.count -= freed;
    this.bytes -= bytes;
    this.start = this.count === 0 ? 0 : idx;
  }

  full(): boolean {
    return this.count === this.maxCount || (this.maxBytes > 0 && this.bytes >= this.maxBytes);
  }

  size(): number {
    return this.count;
  }

  inflightBytes(): number {
    return this.bytes;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
    this.bytes = 0;
  }
}
