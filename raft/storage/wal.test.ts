import { mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TscError } from '../../lib/errors.js';
import type { Entry } from '../core/types.js';
import { Wal } from './wal.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raft-wal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ents = (from: number, term: number, n: number): Entry[] =>
  Array.from({ length: n }, (_, i) => ({ index: from + i, term, type: 'normal', data: new TextEncoder().encode(`e${from + i}`) }));

/** Where the records of a segment end (segments are preallocated: zeros follow). */
function dataEnd(buf: Buffer): number {
  let end = buf.length;
  while (end > 0 && buf[end - 1] === 0) end--;
  return end;
}

async function segmentFiles(): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.wal')).sort();
}

describe('WAL', () => {
  it('replays hard state and entries after a restart', async () => {
    const { wal } = await Wal.open(dir);
    await wal.save({ term: 2, vote: 1, commit: 0 }, ents(1, 2, 3));
    await wal.save({ term: 2, vote: 1, commit: 3 }, []);
    await wal.close();
    const { wal: again, state } = await Wal.open(dir);
    await again.close();
    expect(state.hardState).toEqual({ term: 2, vote: 1, commit: 3 });
    expect(state.entries.map((e) => [e.index, e.term, new TextDecoder().decode(e.data)])).toEqual([
      [1, 2, 'e1'],
      [2, 2, 'e2'],
      [3, 2, 'e3'],
    ]);
  });

  for (const syncMethod of ['dsync', 'fdatasync'] as const) {
    it(`group commit (${syncMethod}): saves made while a write is in flight share the next write, in order, each resolved once durable`, async () => {
      const { wal } = await Wal.open(dir, { syncMethod });
      const order: number[] = [];
      const saves = Array.from({ length: 50 }, (_, i) =>
        wal.save({ term: 1, vote: 1, commit: i }, ents(i + 1, 1, 1)).then(() => order.push(i)),
      );
      await Promise.all(saves);
      expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i));
      // The first save went alone; the 49 made meanwhile went together.
      expect(wal.stats.batches).toBeLessThan(50);
      await wal.close();
      const { wal: again, state } = await Wal.open(dir);
      await again.close();
      expect(state.entries.map((e) => e.index)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(state.hardState.commit).toBe(49);
    });
  }

  it('a newer leader\'s entries replace the old suffix on replay', async () => {
    const { wal } = await Wal.open(dir);
    await wal.save(undefined, ents(1, 1, 5));
    await wal.save(undefined, ents(4, 2, 1));
    await wal.close();
    const { wal: again, state } = await Wal.open(dir);
    await again.close();
    expect(state.entries.map((e) => `${e.index}/${e.term}`)).toEqual(['1/1', '2/1', '3/1', '4/2']);
  });

  it('repairs a torn final write: the cut record is dropped and the log continues', async () => {
    const { wal } = await Wal.open(dir);
    await wal.save({ term: 1, vote: 1, commit: 0 }, ents(1, 1, 2));
    await wal.save(undefined, ents(3, 1, 1));
    await wal.close();
    const file = join(dir, (await segmentFiles())[0] as string);
    const size = dataEnd(await readFile(file));
    expect((await stat(file)).size).toBeGreaterThan(size); // preallocated
    await truncate(file, size - 3); // the crash cut the last record
    const { wal: again, state } = await Wal.open(dir);
    expect(state.entries.map((e) => e.index)).toEqual([1, 2]);
    await again.save(undefined, ents(3, 1, 1));
    await again.close();
    const { wal: third, state: s3 } = await Wal.open(dir);
    await third.close();
    expect(s3.entries.map((e) => e.index)).toEqual([1, 2, 3]);
  });

  it('treats a bad checksum at the very end as torn, and anywhere else as corruption naming file and offset', async () => {
    const { wal } = await Wal.open(dir);
    await wal.save(undefined, ents(1, 1, 3));
    await wal.close();
    const file = join(dir, (await segmentFiles())[0] as string);
    const buf = await readFile(file);
    const last = Buffer.from(buf);
    const end = dataEnd(buf);
    last.writeUInt8(last.readUInt8(end - 1) ^ 0xff, end - 1);
    await writeFile(file, last);
    const { wal: w2, state } = await Wal.open(dir);
    await w2.close();
    expect(state.entries.map((e) => e.index)).toEqual([1, 2]);
    const middle = Buffer.from(await readFile(file));
    middle.writeUInt8(middle.readUInt8(12) ^ 0xff, 12); // inside the first record
    await writeFile(file, middle);
    const err = await Wal.open(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TscError);
    expect((err as TscError).message).toMatch(/corrupt at byte 0: checksum mismatch/);
    expect((err as TscError).file).toBe(file);
  });

  it('a write torn in the preallocated tail (zeros, then data) is repaired in the last segment and is corruption in an earlier one', async () => {
    const { wal } = await Wal.open(dir);
    await wal.save(undefined, ents(1, 1, 2));
    await wal.close();
    const file = join(dir, (await segmentFiles())[0] as string);
    const buf = Buffer.from(await readFile(file));
    const end = dataEnd(buf);
    // The crash wrote the end of a record but not its beginning.
    buf.fill(7, end + 20, end + 30);
    await writeFile(file, buf);
    const { wal: again, state } = await Wal.open(dir);
    expect(state.entries.map((e) => e.index)).toEqual([1, 2]);
    await again.save(undefined, ents(3, 1, 1));
    await again.close();
    const { wal: third, state: s3 } = await Wal.open(dir);
    await third.close();
    expect(s3.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    // The same damage in a segment that is not the last one is corruption.
    const damaged = Buffer.from(await readFile(file));
    damaged.fill(7, dataEnd(damaged) + 20, dataEnd(damaged) + 30);
    await writeFile(file, damaged);
    await writeFile(join(dir, '0000000000000009.wal'), Buffer.alloc(0));
    await expect(Wal.open(dir)).rejects.toThrow(/corrupt at byte \d+: zeros inside the records/);
  });

  it('rolls over to new segment files and replays them in order', async () => {
    const { wal } = await Wal.open(dir, { segmentBytes: 100 });
    for (let i = 1; i <= 20; i++) await wal.save({ term: 1, vote: 1, commit: i - 1 }, ents(i, 1, 1));
    await wal.close();
    expect((await segmentFiles()).length).toBeGreaterThan(3);
    const { wal: again, state } = await Wal.open(dir, { segmentBytes: 100 });
    await again.close();
    expect(state.entries.length).toBe(20);
    expect(state.hardState.commit).toBe(19);
  });

  it('a snapshot marker drops the entries it covers', async () => {
    const { wal } = await Wal.open(dir);
    await wal.save(undefined, ents(1, 1, 6));
    await wal.saveSnapshotMarker(4, 1);
    await wal.save(undefined, ents(7, 1, 1));
    await wal.close();
    const { wal: again, state } = await Wal.open(dir);
    await again.close();
    expect(state.snapshot).toEqual({ index: 4, term: 1 });
    expect(state.entries.map((e) => e.index)).toEqual([5, 6, 7]);
  });

  it('saves made while a release rewrites the segments land after it, in the new segment, and survive', async () => {
    const { wal } = await Wal.open(dir);
    const early = wal.save({ term: 1, vote: 1, commit: 2 }, ents(1, 1, 5));
    // Released before that save is even written: it goes to the old segment first.
    const released = wal.release({ index: 3, term: 1 }, { term: 1, vote: 1, commit: 3 }, ents(1, 1, 5));
    const late = [wal.save({ term: 1, vote: 1, commit: 5 }, ents(6, 1, 1)), wal.save(undefined, ents(7, 1, 1))];
    await Promise.all([early, released, ...late]);
    expect(await segmentFiles()).toEqual(['0000000000000002.wal']);
    await wal.close();
    const { wal: again, state } = await Wal.open(dir);
    await again.close();
    expect(state.snapshot).toEqual({ index: 3, term: 1 });
    expect(state.entries.map((e) => e.index)).toEqual([4, 5, 6, 7]);
    expect(state.hardState.commit).toBe(5);
  });

  it('releases the segments a snapshot covers, keeping what a replay needs', async () => {
    const { wal } = await Wal.open(dir, { segmentBytes: 64 });
    for (let i = 1; i <= 10; i++) await wal.save({ term: 1, vote: 1, commit: i - 1 }, ents(i, 1, 1));
    const before = await segmentFiles();
    expect(before.length).toBeGreaterThan(3);
    // Snapshot at 7: entries 8..10 and the hard state must survive the release.
    await wal.release({ index: 7, term: 1 }, { term: 1, vote: 1, commit: 9 }, ents(6, 1, 5));
    const afterRelease = await segmentFiles();
    expect(afterRelease.filter((f) => before.includes(f))).toEqual([]);
    expect(afterRelease.length).toBeLessThanOrEqual(2); // the rewritten tail may itself roll over at 64 bytes
    await wal.save(undefined, ents(11, 1, 1));
    await wal.close();
    const { wal: again, state } = await Wal.open(dir);
    await again.close();
    expect(state.snapshot).toEqual({ index: 7, term: 1 });
    expect(state.entries.map((e) => e.index)).toEqual([8, 9, 10, 11]);
    expect(state.hardState).toEqual({ term: 1, vote: 1, commit: 9 });
  });
});
