/**
 * Rebuilds a node's LogStorage after a restart: the newest snapshot file, then the WAL's hard
 * state and entries on top, in a MemoryStorage the core reads from (as etcd does).
 */
import { join } from 'node:path';
import { MemoryStorage } from '../storage.js';
import type { Snapshot } from '../core/types.js';
import { loadNewestSnapshot } from './snapshot.js';
import { Wal, type WalOptions } from './wal.js';

export interface Durable {
  storage: MemoryStorage;
  wal: Wal;
  snapshot: Snapshot | undefined;
}

/** Opens `<dir>/wal` and `<dir>/snap`. */
export async function openDurable(dir: string, opts: WalOptions = {}): Promise<Durable> {
  const snapshot = await loadNewestSnapshot(join(dir, 'snap'));
  const { wal, state } = await Wal.open(join(dir, 'wal'), opts);
  const storage = new MemoryStorage();
  if (snapshot !== undefined) storage.applySnapshot(snapshot);
  const first = storage.firstIndex();
  storage.append(state.entries.filter((e) => e.index >= first));
  // A crash between writing a received snapshot and the hard state after it can leave a commit
  // index below the snapshot's: the snapshot is committed by definition, so raise it.
  const hs = { ...state.hardState };
  if (snapshot !== undefined && hs.commit < snapshot.metadata.index) {
    hs.commit = snapshot.metadata.index;
    hs.term = Math.max(hs.term, snapshot.metadata.term);
  }
  storage.setHardState(hs);
  return { storage, wal, snapshot };
}
