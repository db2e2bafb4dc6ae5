import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RaftCore } from '../core/raft-core.js';
import { seededRand } from '../core/rand.js';
import { decodeConfChange, emptyConfState } from '../core/types.js';
import { openDurable } from './durable.js';
import { loadNewestSnapshot, saveSnapshotFile } from './snapshot.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raft-durable-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('durable storage', () => {
  it('a single-node cluster restarted from disk keeps its term, vote, log and commit', async () => {
    const d = await openDurable(dir);
    const core = new RaftCore({ id: 1, storage: d.storage, rand: seededRand(1) });
    const drain = async (c: RaftCore, storage = d.storage, wal = d.wal): Promise<void> => {
      while (c.hasReady()) {
        const rd = c.ready();
        await wal.save(rd.hardState, rd.entries);
        storage.append(rd.entries);
        if (rd.hardState) storage.setHardState(rd.hardState);
        for (const e of rd.committedEntries) {
          if (e.type === 'confChange') c.applyConfChange(decodeConfChange(e.data));
        }
        c.advance();
      }
    };
    core.bootstrap([1]);
    await drain(core);
    core.campaign();
    await drain(core);
    core.propose(new TextEncoder().encode('hello'));
    await drain(core);
    const before = core.status();
    await d.wal.close();

    const again = await openDurable(dir);
    const restarted = new RaftCore({ id: 1, storage: again.storage, rand: seededRand(1) });
    expect(restarted.status().hardState).toEqual(before.hardState);
    expect(again.storage.lastIndex()).toBe(3);
    expect(new TextDecoder().decode(again.storage.entries(3, 4, Infinity)[0]?.data)).toBe('hello');
    await drain(restarted, again.storage, again.wal); // re-applies the membership
    restarted.campaign();
    await drain(restarted, again.storage, again.wal);
    await again.wal.close();
    expect(restarted.raft.state).toBe('leader');
    expect(restarted.raft.term).toBe(before.hardState.term + 1);
  });

  it('writes snapshots atomically and loads the newest whole one', async () => {
    const snapDir = join(dir, 'snap');
    const cs = { ...emptyConfState(), voters: [1, 2, 3] };
    await saveSnapshotFile(snapDir, { metadata: { index: 5, term: 1, confState: cs }, data: new Uint8Array([1]) });
    const newer = await saveSnapshotFile(snapDir, { metadata: { index: 9, term: 2, confState: cs }, data: new Uint8Array([2]) });
    await writeFile(join(snapDir, 'leftover.snap.tmp'), 'half written');
    expect((await loadNewestSnapshot(snapDir))?.metadata.index).toBe(9);
    expect(await readdir(snapDir)).not.toContain('leftover.snap.tmp');
    await writeFile(newer, 'garbage'); // damaged: fall back to the previous one
    const snap = await loadNewestSnapshot(snapDir);
    expect(snap?.metadata).toEqual({ index: 5, term: 1, confState: cs });
    expect([...(snap?.data ?? [])]).toEqual([1]);
  });

  it('restores from snapshot plus the WAL entries after it', async () => {
    const d = await openDurable(dir);
    const ents = Array.from({ length: 6 }, (_, i) => ({ index: i + 1, term: 1, type: 'normal' as const, data: new Uint8Array([i]) }));
    await d.wal.save({ term: 1, vote: 1, commit: 6 }, ents);
    await saveSnapshotFile(join(dir, 'snap'), { metadata: { index: 4, term: 1, confState: { ...emptyConfState(), voters: [1] } }, data: new Uint8Array() });
    await d.wal.saveSnapshotMarker(4, 1);
    await d.wal.close();
    const again = await openDurable(dir);
    await again.wal.close();
    expect(again.storage.firstIndex()).toBe(5);
    expect(again.storage.lastIndex()).toBe(6);
    expect(again.storage.initialState().confState.voters).toEqual([1]);
  });
});
