import * as grpc from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { message, type Message } from '../core/types.js';
import { RaftNode, type StateMachine } from '../node.js';
import { type MemberFiles, makeClusterPki, makeStrangerPki, readTls } from './certs.js';
import { decodeBatch, encodeBatch } from './codec.js';
import { GrpcTransport, MEMBER_NAME } from './grpc-transport.js';
import { untilValue } from '../../test/support/poll.js';

class Bytes implements StateMachine {
  items: string[] = [];
  apply(data: Uint8Array): unknown {
    this.items.push(Buffer.from(data).toString());
    return this.items.length;
  }
  snapshot(): Uint8Array {
    return Buffer.from(JSON.stringify(this.items));
  }
  restore(data: Uint8Array): void {
    this.items = JSON.parse(Buffer.from(data).toString()) as string[];
  }
}

let dir: string;
let pki: Map<number, MemberFiles>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raft-grpc-'));
  pki = makeClusterPki(dir, [1, 2, 3]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('codec', () => {
  it('round-trips every field of a batch', () => {
    const m: Message = {
      ...message({ type: 'MsgApp', to: 2, from: 1, term: 7, logTerm: 6, index: 41, commit: 40, reject: true, rejectHint: 3 }),
      context: new Uint8Array([9, 8]),
      entries: [
        { term: 7, index: 42, type: 'normal', data: new Uint8Array([1, 2, 3]) },
        { term: 7, index: 43, type: 'confChange', data: new Uint8Array() },
      ],
      snapshot: { metadata: { index: 5, term: 2, confState: { voters: [1, 2], learners: [3], votersOutgoing: [], learnersNext: [], autoLeave: false } }, data: new Uint8Array([7]) },
    };
    const plain = message({ type: 'MsgHeartbeat', to: 3, from: 1, term: 2 ** 40 });
    expect(decodeBatch(encodeBatch([m, plain]))).toEqual([m, plain]);
    expect(() => decodeBatch(encodeBatch([m]).subarray(0, 30))).toThrow(/cut short/);
  });
});

describe('gRPC transport over mutual TLS', () => {
  it('replicates between three nodes, batches per peer, and streams a snapshot in chunks to a lagging member', async () => {
    const transports = new Map<number, GrpcTransport>();
    const nodes = new Map<number, RaftNode>();
    const sms = new Map<number, Bytes>();
    for (const id of [1, 2, 3]) {
      transports.set(id, await GrpcTransport.listen({ id, listen: '127.0.0.1:0', tls: readTls(pki.get(id) as MemberFiles), snapshotChunkBytes: 1024, backoffMinMs: 20, backoffMaxMs: 200 }));
    }
    for (const [id, t] of transports) for (const [pid, pt] of transports) if (pid !== id) t.addPeer(pid, `127.0.0.1:${pt.port}`);
    const start = async (id: number): Promise<void> => {
      const sm = new Bytes();
      sms.set(id, sm);
      const t = transports.get(id) as GrpcTransport;
      const n = await RaftNode.start({ id, dir: join(dir, `n${id}`), peers: [1, 2, 3], stateMachine: sm, transport: t, tickMs: 20, snapshotEvery: 20, keepEntries: 5 });
      t.attach(n);
      nodes.set(id, n);
    };
    try {
      for (const id of [1, 2, 3]) await start(id);
      const leader = await untilValue('a leader', () => [...nodes.values()].find((n) => n.status().role === 'leader'));
      const lid = leader.status().id;
      const lagging = lid === 3 ? 2 : 3;
      await nodes.get(lagging)?.stop();
      nodes.delete(lagging);
      const big = 'x'.repeat(300);
      await Promise.all(Array.from({ length: 60 }, (_, i) => leader.propose(Buffer.from(`${i}:${big}`))));
      const lt = transports.get(lid) as GrpcTransport;
      await untilValue('a snapshot on the leader', () => leader.status().snapshotIndex > 20);
      await start(lagging);
      await untilValue('the lagging member caught up', () => sms.get(lagging)?.items.length === 60);
      expect(lt.stats.snapshotsSent).toBeGreaterThan(0);
      expect(lt.stats.snapshotChunks).toBeGreaterThan(lt.stats.snapshotsSent); // more than one chunk each
      expect(sms.get(lagging)?.items).toEqual(sms.get(lid)?.items);
    } finally {
      for (const n of nodes.values()) await n.stop();
      for (const t of transports.values()) await t.close();
    }
  });

  it('batches the messages of one turn into one frame per peer, split under the max message size', async () => {
    const got: Message[] = [];
    const tls1 = readTls(pki.get(1) as MemberFiles);
    const tls2 = readTls(pki.get(2) as MemberFiles);
    const b = await GrpcTransport.listen({ id: 2, listen: '127.0.0.1:0', tls: tls2, maxMessageBytes: 64 * 1024 });
    b.attach({ step: (m) => got.push(m), reportUnreachable: () => undefined, reportSnapshot: () => undefined });
    const a = await GrpcTransport.listen({ id: 1, listen: '127.0.0.1:0', tls: tls1, maxMessageBytes: 64 * 1024, peers: new Map([[2, `127.0.0.1:${b.port}`]]) });
    try {
      a.send(Array.from({ length: 100 }, (_, i) => message({ type: 'MsgHeartbeat', to: 2, from: 1, term: 1, commit: i })));
      await untilValue('100 heartbeats', () => got.length === 100);
      expect(a.stats.framesSent).toBe(1);
      expect(got.map((m) => m.commit)).toEqual(Array.from({ length: 100 }, (_, i) => i));
      const payload = new Uint8Array(10 * 1024);
      a.send(Array.from({ length: 20 }, (_, i) => message({ type: 'MsgApp', to: 2, from: 1, term: 1, index: i, entries: [{ term: 1, index: i + 1, type: 'normal', data: payload }] })));
      await untilValue('20 appends', () => got.length === 120);
      expect(a.stats.framesSent).toBeGreaterThanOrEqual(1 + 4); // 200 KiB in frames of at most 64 KiB
      expect(a.stats.framesSent).toBeLessThanOrEqual(1 + 5);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('reports a peer that went away unreachable and reconnects when it is back on the same address', async () => {
    const got: Message[] = [];
    const unreachable: number[] = [];
    const handler = { step: (m: Message) => got.push(m), reportUnreachable: () => undefined, reportSnapshot: () => undefined };
    let b = await GrpcTransport.listen({ id: 2, listen: '127.0.0.1:0', tls: readTls(pki.get(2) as MemberFiles) });
    const port = b.port;
    b.attach(handler);
    const a = await GrpcTransport.listen({ id: 1, listen: '127.0.0.1:0', tls: readTls(pki.get(1) as MemberFiles), backoffMinMs: 20, backoffMaxMs: 100, peers: new Map([[2, `127.0.0.1:${port}`]]) });
    a.attach({ step: () => undefined, reportUnreachable: (id) => unreachable.push(id), reportSnapshot: () => undefined });
    const beat = (): void => a.send([message({ type: 'MsgHeartbeat', to: 2, from: 1, term: 1 })]);
    try {
      beat();
      await untilValue('first heartbeat', () => got.length === 1);
      await b.close();
      await untilValue('peer 2 reported unreachable', () => {
        beat();
        return unreachable.includes(2);
      });
      b = await GrpcTransport.listen({ id: 2, listen: `127.0.0.1:${port}`, tls: readTls(pki.get(2) as MemberFiles) });
      b.attach(handler);
      await untilValue('a heartbeat after the restart', () => {
        beat();
        return got.length > 1;
      });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('refuses a peer whose client certificate is not signed by the cluster CA, and one that claims another id', async () => {
    const stepped: Message[] = [];
    const server = await GrpcTransport.listen({ id: 1, listen: '127.0.0.1:0', tls: readTls(pki.get(1) as MemberFiles) });
    server.attach({ step: (m) => stepped.push(m), reportUnreachable: () => undefined, reportSnapshot: () => undefined });
    const stranger = readTls(makeStrangerPki(dir, 2));
    const member = readTls(pki.get(2) as MemberFiles);
    const sendWith = (creds: grpc.ChannelCredentials, from: number): Promise<grpc.ServiceError | null> => {
      const client = new grpc.Client(`127.0.0.1:${server.port}`, creds, { 'grpc.ssl_target_name_override': MEMBER_NAME });
      return new Promise((resolve) => {
        const call = client.makeClientStreamRequest<Buffer, Buffer>('/tsc.raft.Raft/Stream', (b) => b, (b) => b, (err) => {
          client.close();
          resolve(err);
        });
        call.on('error', () => undefined);
        call.write(encodeBatch([message({ type: 'MsgHeartbeat', to: 1, from, term: 1 })]));
        call.end();
      });
    };
    try {
      // Signed by another CA (trusting the cluster CA to verify the server): the handshake fails.
      const refused = await sendWith(grpc.credentials.createSsl(member.ca, stranger.key, stranger.cert), 2);
      expect(refused?.code).toBe(grpc.status.UNAVAILABLE);
      // No client certificate at all.
      const anonymous = await sendWith(grpc.credentials.createSsl(member.ca), 2);
      expect(anonymous?.code).toBe(grpc.status.UNAVAILABLE);
      // A member's certificate, but pretending to be member 3.
      const spoof = await sendWith(grpc.credentials.createSsl(member.ca, member.key, member.cert), 3);
      expect(spoof?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(stepped).toEqual([]);
      // The same member's certificate for its own id is accepted.
      expect(await sendWith(grpc.credentials.createSsl(member.ca, member.key, member.cert), 2)).toBeNull();
      expect(stepped.map((m) => m.from)).toEqual([2]);
    } finally {
      await server.close();
    }
  });
});
