/**
 * The Raft transport between members: gRPC (@grpc/grpc-js) over mutual TLS.
 *
 * - Both sides present a certificate signed by the cluster CA; the server refuses a client
 *   without one (TLS handshake), and a stream whose messages claim another sender than the
 *   client certificate's CN (`tsc-raft-<id>`) is refused with PERMISSION_DENIED.
 * - One long-lived client stream per peer (`/tsc.raft.Raft/Stream`); messages handed to send()
 *   in the same turn are batched into one frame per peer, split to stay under the max message
 *   size. A stream that fails reports the peer unreachable and reconnects with exponential
 *   backoff; messages meanwhile are dropped (Raft retries them) and reported unreachable.
 * - A MsgSnap goes on its own stream (`/tsc.raft.Raft/Snapshot`): a header (the message without
 *   the snapshot data), then the data in chunks, so a snapshot may be far larger than one gRPC
 *   message; the sender reports 'finish' or 'failure' to the node when the stream ends.
 */
import * as grpc from '@grpc/grpc-js';
import { TscError } from '../../lib/errors.js';
import type { Message } from '../core/types.js';
import { type Tracer, tracerFor } from '../trace.js';
import { decodeBatch, decodeSnapshotHeader, encodeBatch, encodeSnapshotHeader, messageSize } from './codec.js';

/** The DNS name every member certificate carries and every member is dialled as. */
export const MEMBER_NAME = 'tsc-raft-member';

export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** What the transport delivers to (a RaftNode). */
export interface TransportHandler {
  step(m: Message): void;
  reportUnreachable(id: number): void;
  reportSnapshot(id: number, status: 'finish' | 'failure'): void;
}

export interface GrpcTransportOptions {
  id: number;
  /** host:port to listen on (port 0: any free one, see `port`). */
  listen: string;
  tls: TlsMaterial;
  /** Peer id to host:port. */
  peers?: ReadonlyMap<number, string>;
  /** Largest gRPC message sent or accepted. Default 4 MiB (swarmkit's GRPCMaxMsgSize). */
  maxMessageBytes?: number;
  /** Snapshot chunk size. Default 1 MiB. */
  snapshotChunkBytes?: number;
  /** Reconnect backoff bounds. Defaults 100 ms and 5 s. */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** Frames queued on a stream that is not draining before messages are dropped. Default 1024. */
  maxQueuedFrames?: number;
  /**
   * Members removed from the cluster (etcd's IsIDRemoved): their streams are refused with
   * FAILED_PRECONDITION, which tells such a member it was removed: a removed follower may never
   * learn the commit of its own removal otherwise, since the leader stops replicating to it.
   */
  isRemoved?: (id: number) => boolean;
  /** Called when a peer refused us as a removed member: this member should stop. */
  onRemoved?: () => void;
}

const STREAM = '/tsc.raft.Raft/Stream';
const REMOVED = 'member removed from the cluster';
const SNAPSHOT = '/tsc.raft.Raft/Snapshot';
const identity = (b: Buffer): Buffer => b;
const EMPTY = Buffer.alloc(0);

function method(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: true,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

const SERVICE: grpc.ServiceDefinition = { stream: method(STREAM), snapshot: method(SNAPSHOT) };

/** The member id a client certificate names (CN tsc-raft-<id>), or undefined. */
function peerId(call: grpc.ServerReadableStream<Buffer, Buffer>): number | undefined {
  const cn = call.getAuthContext()?.sslPeerCertificate?.subject?.CN;
  const m = typeof cn === 'string' ? /^tsc-raft-(\d+)$/.exec(cn) : null;
  return m === null ? undefined : Number(m[1]);
}

interface Peer {
  id: number;
  addr: string;
  client: grpc.Client;
  stream: grpc.ClientWritableStream<Buffer> | undefined;
  queue: Message[];
  flushScheduled: boolean;
  backoffMs: number;
  retryAt: number;
  pendingFrames: number;
}

export class GrpcTransport {
  private readonly peers = new Map<number, Peer>();
  private handler: TransportHandler | undefined;
  private closed = false;
  private readonly maxMsg: number;
  private readonly chunk: number;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;
  private readonly maxQueued: number;
  private readonly clientCreds: grpc.ChannelCredentials;
  private readonly trace: Tracer | undefined;
  /** Counters for tests and status pages. */
  readonly stats = { framesSent: 0, messagesSent: 0, dropped: 0, refused: 0, snapshotsSent: 0, snapshotChunks: 0 };

  private constructor(
    private readonly opts: GrpcTransportOptions,
    private readonly server: grpc.Server,
    /** The port actually bound. */
    readonly port: number,
  ) {
    this.maxMsg = opts.maxMessageBytes ?? 4 * 1024 * 1024;
    this.chunk = Math.min(opts.snapshotChunkBytes ?? 1024 * 1024, this.maxMsg - 1024);
    this.minBackoff = opts.backoffMinMs ?? 100;
    this.maxBackoff = opts.backoffMaxMs ?? 5000;
    this.maxQueued = opts.maxQueuedFrames ?? 1024;
    this.clientCreds = grpc.credentials.createSsl(opts.tls.ca, opts.tls.key, opts.tls.cert);
    this.trace = tracerFor(opts.id);
    for (const [id, addr] of opts.peers ?? []) this.addPeer(id, addr);
  }

  /** Starts the server (mutual TLS: clients must present a certificate from the cluster CA). */
  static async listen(opts: GrpcTransportOptions): Promise<GrpcTransport> {
    const maxMsg = opts.maxMessageBytes ?? 4 * 1024 * 1024;
    const server = new grpc.Server({ 'grpc.max_receive_message_length': maxMsg, 'grpc.max_send_message_length': maxMsg });
    const creds = grpc.ServerCredentials.createSsl(opts.tls.ca, [{ private_key: opts.tls.key, cert_chain: opts.tls.cert }], true);
    const ref: { t?: GrpcTransport } = {};
    server.addService(SERVICE, {
      stream: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => ref.t?.onStream(call, cb),
      snapshot: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => ref.t?.onSnapshot(call, cb),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(opts.listen, creds, (err, p) => (err === null ? resolve(p) : reject(err))),
    );
    ref.t = new GrpcTransport(opts, server, port);
    return ref.t;
  }

  /** Where received messages and send failures go; messages received before are dropped. */
  attach(handler: TransportHandler): void {
    this.handler = handler;
  }

  addPeer(id: number, addr: string): void {
    if (id === this.opts.id) return;
    const old = this.peers.get(id);
    if (old !== undefined && old.addr === addr) return;
    if (old !== undefined) this.removePeer(id);
    const client = new grpc.Client(addr, this.clientCreds, {
      'grpc.ssl_target_name_override': MEMBER_NAME,
      'grpc.default_authority': MEMBER_NAME,
      'grpc.max_send_message_length': this.maxMsg,
      'grpc.max_receive_message_length': this.maxMsg,
      'grpc.initial_reconnect_backoff_ms': this.minBackoff,
      'grpc.max_reconnect_backoff_ms': this.maxBackoff,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
    });
    this.peers.set(id, { id, addr, client, stream: undefined, queue: [], flushScheduled: false, backoffMs: this.minBackoff, retryAt: 0, pendingFrames: 0 });
  }

  removePeer(id: number): void {
    const p = this.peers.get(id);
    if (p === undefined) return;
    this.peers.delete(id);
    p.stream?.end();
    p.client.close();
  }

  hasPeer(id: number): boolean {
    return this.peers.has(id);
  }

  /** The ids of the peers this transport dials. */
  peerIds(): number[] {
    return [...this.peers.keys()];
  }

  /** Queues messages; each peer's queue is flushed as one batch once the caller's code returns. */
  send(msgs: Message[]): void {
    if (this.closed) return;
    for (const m of msgs) {
      const p = this.peers.get(m.to);
      if (p === undefined) {
        this.stats.dropped++;
        this.unreachable(m);
        continue;
      }
      if (m.type === 'MsgSnap') {
        this.sendSnapshot(p, m);
        continue;
      }
      p.queue.push(m);
      if (!p.flushScheduled) {
        p.flushScheduled = true;
        // Everything handed over in this synchronous stretch (one Ready) goes in one frame,
        // written before the event loop turns: no timer, no extra loop iteration.
        queueMicrotask(() => this.flush(p));
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.peers.keys()]) this.removePeer(id);
    // Peers keep their streams to us open: do not wait for them to end.
    this.server.forceShutdown();
    await Promise.resolve();
  }

  // ---- sending ----------------------------------------------------------------------------

  private unreachable(m: Message): void {
    if (m.type === 'MsgSnap') this.handler?.reportSnapshot(m.to, 'failure');
    else this.handler?.reportUnreachable(m.to);
  }

  private openStream(p: Peer): grpc.ClientWritableStream<Buffer> | undefined {
    if (p.stream !== undefined) return p.stream;
    if (Date.now() < p.retryAt) return undefined;
    const stream = p.client.makeClientStreamRequest<Buffer, Buffer>(STREAM, identity, identity, new grpc.Metadata(), {}, (err) => {
      if (p.stream === stream) p.stream = undefined;
      if (err?.code === grpc.status.FAILED_PRECONDITION && err.details.startsWith(REMOVED)) this.opts.onRemoved?.();
      if (err !== null && !this.closed && this.peers.get(p.id) === p) {
        // Broken: back off before the next attempt, and tell Raft to stop pipelining.
        p.retryAt = Date.now() + p.backoffMs;
        p.backoffMs = Math.min(p.backoffMs * 2, this.maxBackoff);
        this.handler?.reportUnreachable(p.id);
      }
    });
    stream.on('error', () => undefined);
    p.stream = stream;
    return stream;
  }

  private flush(p: Peer): void {
    p.flushScheduled = false;
    const msgs = p.queue;
    p.queue = [];
    if (msgs.length === 0 || this.closed || this.peers.get(p.id) !== p) return;
    const stream = this.openStream(p);
    if (stream === undefined || p.pendingFrames >= this.maxQueued) {
      this.stats.dropped += msgs.length;
      this.handler?.reportUnreachable(p.id);
      return;
    }
    let batch: Message[] = [];
    let size = 0;
    const write = (): void => {
      if (batch.length === 0) return;
      if (this.trace !== undefined) this.traceFrame('frame-out', batch);
      const frame = encodeBatch(batch);
      p.pendingFrames++;
      const sent = batch.length;
      stream.write(frame, () => {
        p.pendingFrames--;
        // A frame the server took resets the backoff.
        p.backoffMs = this.minBackoff;
      });
      this.stats.framesSent++;
      this.stats.messagesSent += sent;
      batch = [];
      size = 0;
    };
    for (const m of msgs) {
      const s = messageSize(m);
      if (size + s > this.maxMsg - 64 && batch.length > 0) write();
      batch.push(m);
      size += s;
    }
    write();
  }

  private traceFrame(event: 'frame-in' | 'frame-out', msgs: readonly Message[]): void {
    for (const m of msgs) {
      const peer = event === 'frame-in' ? m.from : m.to;
      const first = m.entries[0];
      if (m.type === 'MsgApp' && first !== undefined) this.trace?.mark(event, first.index, m.index + m.entries.length, peer);
      else if (m.type === 'MsgAppResp' && !m.reject) this.trace?.mark(event, m.index, m.index, peer);
    }
  }

  private sendSnapshot(p: Peer, m: Message): void {
    const snap = m.snapshot;
    if (snap === undefined) throw new Error('raft transport: MsgSnap without a snapshot');
    this.stats.snapshotsSent++;
    const call = p.client.makeClientStreamRequest<Buffer, Buffer>(SNAPSHOT, identity, identity, new grpc.Metadata(), {}, (err) => {
      this.handler?.reportSnapshot(m.to, err === null ? 'finish' : 'failure');
    });
    call.on('error', () => undefined);
    call.write(encodeSnapshotHeader(m));
    const data = snap.data;
    for (let off = 0; off < data.length; off += this.chunk) {
      call.write(Buffer.from(data.buffer, data.byteOffset + off, Math.min(this.chunk, data.length - off)));
      this.stats.snapshotChunks++;
    }
    call.end();
  }

  // ---- receiving --------------------------------------------------------------------------

  private refuse(call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>, why: string): void {
    this.stats.refused++;
    call.removeAllListeners('data');
    cb({ code: grpc.status.PERMISSION_DENIED, details: why });
  }

  private onStream(call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>): void {
    const from = peerId(call);
    if (from === undefined) return this.refuse(call, cb, 'client certificate names no raft member');
    let done = false;
    const removed = (): boolean => {
      if (this.opts.isRemoved?.(from) !== true) return false;
      done = true;
      this.stats.refused++;
      call.removeAllListeners('data');
      cb({ code: grpc.status.FAILED_PRECONDITION, details: `${REMOVED}: ${from}` });
      return true;
    };
    if (removed()) return;
    call.on('data', (frame: Buffer) => {
      if (done || removed()) return;
      let msgs: Message[];
      try {
        msgs = decodeBatch(frame);
      } catch (e) {
        done = true;
        cb({ code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message });
        return;
      }
      if (this.trace !== undefined) this.traceFrame('frame-in', msgs);
      for (const m of msgs) {
        if (m.from !== from) {
          done = true;
          return this.refuse(call, cb, `certificate of member ${from} cannot send as ${m.from}`);
        }
        if (m.to === this.opts.id) this.handler?.step(m);
      }
    });
    call.on('end', () => {
      if (!done) cb(null, EMPTY);
    });
    call.on('error', () => undefined);
  }

  private onSnapshot(call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>): void {
    const from = peerId(call);
    if (from === undefined) return this.refuse(call, cb, 'client certificate names no raft member');
    let header: Message | undefined;
    const chunks: Buffer[] = [];
    let failed = false;
    call.on('data', (b: Buffer) => {
      if (failed) return;
      if (header === undefined) {
        try {
          header = decodeSnapshotHeader(b);
        } catch (e) {
          failed = true;
          cb({ code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message });
        }
        return;
      }
      chunks.push(b);
    });
    call.on('end', () => {
      if (failed) return;
      if (header?.snapshot === undefined || header.from !== from) {
        return this.refuse(call, cb, `snapshot stream from member ${from} without a valid header`);
      }
      const m: Message = { ...header, snapshot: { metadata: header.snapshot.metadata, data: new Uint8Array(Buffer.concat(chunks)) } };
      if (m.to === this.opts.id) this.handler?.step(m);
      cb(null, EMPTY);
    });
    call.on('error', () => undefined);
  }
}

/** Parses `1=127.0.0.1:7001,2=...` into a map of peer addresses. */
export function parsePeers(spec: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const part of spec.split(',').filter((s) => s !== '')) {
    const m = /^(\d+)=(.+)$/.exec(part.trim());
    if (m === null) {
      throw new TscError('ERR_USAGE', `--peers: "${part}" is not ID=HOST:PORT`, { hint: 'e.g. --peers 1=127.0.0.1:7001,2=127.0.0.2:7001' });
    }
    out.set(Number(m[1]), m[2] as string);
  }
  return out;
}
