/**
 * Snapshot files, written atomically: the bytes go to a temporary file which is fsynced, then
 * renamed into place, then the directory is fsynced. A crash leaves either the old set of
 * snapshots or the new one, never a half-written file under a final name.
 *
 * Layout: `<dir>/<term, 16 hex>-<index, 16 hex>.snap` holding
 *   u32 CRC-32 of the rest | u32 length of the metadata JSON | metadata JSON | data
 */
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from '../../lib/crc32.js';
import { TscError } from '../../lib/errors.js';
import type { Snapshot, SnapshotMetadata } from '../core/types.js';
import { syncDir } from './wal.js';

const hex = (n: number): string => n.toString(16).padStart(16, '0');

export function snapshotFileName(m: SnapshotMetadata): string {
  return `${hex(m.term)}-${hex(m.index)}.snap`;
}

export async function saveSnapshotFile(dir: string, snap: Snapshot): Promise<string> {
  await mkdir(dir, { recursive: true });
  const meta = Buffer.from(JSON.stringify(snap.metadata));
  const body = Buffer.alloc(4 + meta.length + snap.data.length);
  body.writeUInt32BE(meta.length, 0);
  meta.copy(body, 4);
  Buffer.from(snap.data).copy(body, 4 + meta.length);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(crc32(body), 0);
  const final = join(dir, snapshotFileName(snap.metadata));
  const tmp = `${final}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.write(Buffer.concat([head, body]));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, final);
  await syncDir(dir);
  return final;
}

export async function readSnapshotFile(file: string): Promise<Snapshot> {
  const buf = await readFile(file);
  if (buf.length < 8 || crc32(buf.subarray(4)) !== buf.readUInt32BE(0)) {
    throw new TscError('ERR_RAFT', `raft snapshot ${file} is damaged (checksum mismatch)`, { file });
  }
  const metaLen = buf.readUInt32BE(4);
  const metadata = JSON.parse(buf.subarray(8, 8 + metaLen).toString()) as SnapshotMetadata;
  return { metadata, data: new Uint8Array(buf.subarray(8 + metaLen)) };
}

/**
 * The newest snapshot that reads back whole (a damaged one is skipped for the one before it);
 * leftover temporary files from a crash are removed. undefined if there is none.
 */
export async function loadNewestSnapshot(dir: string): Promise<Snapshot | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  for (const n of names.filter((x) => x.endsWith('.tmp'))) await rm(join(dir, n), { force: true });
  const snaps = names.filter((n) => /^[0-9a-f]{16}-[0-9a-f]{16}\.snap$/.test(n));
  // Newest by index (the second field), then term.
  snaps.sort((a, b) => (a.slice(17, 33) + a.slice(0, 16) < b.slice(17, 33) + b.slice(0, 16) ? 1 : -1));
  for (const n of snaps) {
    try {
      return await readSnapshotFile(join(dir, n));
    } catch (e) {
      if (!(e instanceof TscError)) throw e;
    }
  }
  return undefined;
}
