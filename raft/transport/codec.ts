/**
 * A compact binary encoding of Raft messages for the wire (the transport carries opaque bytes
 * over gRPC, so no protobuf toolchain is needed). Numbers are u48 big-endian (terms and
 * indexes never pass 2^48), byte strings are u32 length-prefixed.
 *
 *   batch   = u32 count | message*
 *   message = u8 type | to | from | term | logTerm | index | commit | rejectHint (u48 each)
 *             | u8 flags (1 reject, 2 context, 4 snapshot) | [context] | u32 n | entry*n | [snapshot]
 *   entry   = term | index (u48) | u8 kind | data
 *   snapshot= metadata JSON | data
 */
import type { Entry, Message, MessageType, Snapshot, SnapshotMetadata } from '../core/types.js';

const TYPES: readonly MessageType[] = [
  'MsgHup', 'MsgBeat', 'MsgProp', 'MsgApp', 'MsgAppResp', 'MsgVote', 'MsgVoteResp', 'MsgPreVote',
  'MsgPreVoteResp', 'MsgSnap', 'MsgHeartbeat', 'MsgHeartbeatResp', 'MsgUnreachable', 'MsgSnapStatus',
  'MsgCheckQuorum', 'MsgTransferLeader', 'MsgTimeoutNow', 'MsgReadIndex', 'MsgReadIndexResp',
];
const TYPE_CODE = new Map(TYPES.map((t, i) => [t, i]));

class Writer {
  private buf = Buffer.allocUnsafe(256);
  private off = 0;
  private room(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(b, 0, 0, this.off);
    this.buf = b;
  }
  u8(v: number): void {
    this.room(1);
    this.buf.writeUInt8(v, this.off);
    this.off += 1;
  }
  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32BE(v, this.off);
    this.off += 4;
  }
  u48(v: number): void {
    this.room(6);
    this.buf.writeUIntBE(v, this.off, 6);
    this.off += 6;
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.room(b.length);
    this.buf.set(b, this.off);
    this.off += b.length;
  }
  done(): Buffer {
    return this.buf.subarray(0, this.off);
  }
}

class Reader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.off + n > this.buf.length) throw new Error(`raft codec: message cut short at byte ${this.off}`);
  }
  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.off++);
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  u48(): number {
    this.need(6);
    const v = this.buf.readUIntBE(this.off, 6);
    this.off += 6;
    return v;
  }
  bytes(): Uint8Array {
    const n = this.u32();
    this.need(n);
    const b = new Uint8Array(this.buf.subarray(this.off, this.off + n));
    this.off += n;
    return b;
  }
  end(): boolean {
    return this.off >= this.buf.length;
  }
}

function writeEntry(w: Writer, e: Entry): void {
  w.u48(e.term);
  w.u48(e.index);
  w.u8(e.type === 'normal' ? 0 : 1);
  w.bytes(e.data);
}

function writeMessage(w: Writer, m: Message, withSnapshotData: boolean): void {
  w.u8(TYPE_CODE.get(m.type) ?? 255);
  for (const n of [m.to, m.from, m.term, m.logTerm, m.index, m.commit, m.rejectHint]) w.u48(n);
  w.u8((m.reject ? 1 : 0) | (m.context !== undefined ? 2 : 0) | (m.snapshot !== undefined ? 4 : 0));
  if (m.context !== undefined) w.bytes(m.context);
  w.u32(m.entries.length);
  for (const e of m.entries) writeEntry(w, e);
  if (m.snapshot !== undefined) {
    w.bytes(Buffer.from(JSON.stringify(m.snapshot.metadata)));
    w.bytes(withSnapshotData ? m.snapshot.data : new Uint8Array(0));
  }
}

function readMessage(r: Reader): Message {
  const code = r.u8();
  const type = TYPES[code];
  if (type === undefined) throw new Error(`raft codec: unknown message type ${code}`);
  const [to, from, term, logTerm, index, commit, rejectHint] = [r.u48(), r.u48(), r.u48(), r.u48(), r.u48(), r.u48(), r.u48()];
  const flags = r.u8();
  const context = flags & 2 ? r.bytes() : undefined;
  const n = r.u32();
  const entries: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const eTerm = r.u48();
    const eIndex = r.u48();
    const kind = r.u8();
    entries.push({ term: eTerm, index: eIndex, type: kind === 0 ? 'normal' : 'confChange', data: r.bytes() });
  }
  let snapshot: Snapshot | undefined;
  if (flags & 4) {
    const metadata = JSON.parse(Buffer.from(r.bytes()).toString()) as SnapshotMetadata;
    snapshot = { metadata, data: r.bytes() };
  }
  const m: Message = { type, to, from, term, logTerm, index, commit, rejectHint, reject: (flags & 1) !== 0, entries };
  if (context !== undefined) m.context = context;
  if (snapshot !== undefined) m.snapshot = snapshot;
  return m;
}

export function encodeBatch(msgs: readonly Message[]): Buffer {
  const w = new Writer();
  w.u32(msgs.length);
  for (const m of msgs) writeMessage(w, m, true);
  return w.done();
}

export function decodeBatch(buf: Buffer): Message[] {
  const r = new Reader(buf);
  const n = r.u32();
  const out: Message[] = [];
  for (let i = 0; i < n; i++) out.push(readMessage(r));
  if (!r.end()) throw new Error('raft codec: trailing bytes after batch');
  return out;
}

/** A MsgSnap without its snapshot data: the header of a chunked snapshot stream. */
export function encodeSnapshotHeader(m: Message): Buffer {
  const w = new Writer();
  writeMessage(w, m, false);
  return w.done();
}

export function decodeSnapshotHeader(buf: Buffer): Message {
  return readMessage(new Reader(buf));
}

/** Wire size estimate of one message, to keep batches under the max message size. */
export function messageSize(m: Message): number {
  let n = 64 + (m.context?.length ?? 0);
  for (const e of m.entries) n += 17 + e.data.length;
  if (m.snapshot !== undefined) n += 256 + m.snapshot.data.length;
  return n;
}
