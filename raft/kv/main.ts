/**
 * The replicated KV service, one member per process:
 *
 *   node --single-threaded-gc dist/raft/kv/main.js --id 1 --data /var/lib/kv1 --listen 127.0.0.1:8001 \
 *     --peers 1=127.0.0.1:8001/127.0.0.1:7001,2=127.0.0.2:8001/127.0.0.2:7001,3=... \
 *     --ca ca.crt --cert member-1.crt --key member-1.key [--tick-ms 100] [--election-tick 10]
 *
 * `--peers` lists every initial member as ID=HTTP_ADDR/RAFT_ADDR; this member's Raft listens on
 * its own RAFT_ADDR (mutual TLS with the given CA and member certificate, CN tsc-raft-<id>).
 * A data dir that holds state restarts from it; an empty one bootstraps the listed cluster.
 * SIGTERM/SIGINT stop it cleanly. Prints one JSON line `{"ready":...}` once listening.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TscError } from '../../lib/errors.js';
import { RaftNode } from '../node.js';
import { GrpcTransport } from '../transport/grpc-transport.js';
import { parseKvPeers } from './kv-peers.js';
import { startKvServer } from './kv-server.js';
import { type KvMemberAddrs, KvStateMachine } from './kv-state-machine.js';
import { parseMemberContext } from './kv-server.js';

function int(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new TscError('ERR_USAGE', `--${name}: "${v}" is not a positive integer`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      id: { type: 'string' },
      data: { type: 'string' },
      listen: { type: 'string' },
      peers: { type: 'string' },
      ca: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      'tick-ms': { type: 'string' },
      'election-tick': { type: 'string' },
      'heartbeat-tick': { type: 'string' },
      'snapshot-every': { type: 'string' },
      join: { type: 'boolean' },
    },
    strict: true,
  });
  for (const k of ['id', 'data', 'listen', 'peers', 'ca', 'cert', 'key'] as const) {
    if (values[k] === undefined) throw new TscError('ERR_USAGE', `--${k} is required`);
  }
  const id = int(values.id, 'id', 0);
  const peers = parseKvPeers(values.peers as string);
  const self = peers.get(id);
  if (self === undefined) throw new TscError('ERR_USAGE', `--peers does not list this member (--id ${id})`);
  const transport = await GrpcTransport.listen({
    id,
    listen: self.raft,
    tls: { ca: readFileSync(values.ca as string), cert: readFileSync(values.cert as string), key: readFileSync(values.key as string) },
    peers: new Map([...peers].map(([pid, m]) => [pid, m.raft])),
  });
  const sm = new KvStateMachine();
  const httpPeers = new Map([...peers].map(([pid, m]) => [pid, m.http]));
  const learn = (pid: number, a: KvMemberAddrs): void => {
    if (pid === id) return;
    transport.addPeer(pid, a.raft);
    httpPeers.set(pid, a.http);
  };
  const node = await RaftNode.start({
    id,
    dir: values.data as string,
    peers: values.join === true ? [] : [...peers.keys()],
    stateMachine: sm,
    transport,
    tickMs: int(values['tick-ms'], 'tick-ms', 1000),
    electionTick: int(values['election-tick'], 'election-tick', 10),
    heartbeatTick: int(values['heartbeat-tick'], 'heartbeat-tick', 1),
    snapshotEvery: int(values['snapshot-every'], 'snapshot-every', 10_000),
    // Members added at run time carry their addresses in the conf change (POST /members).
    onConfChange: (cc) => {
      const addrs = parseMemberContext(cc.context);
      for (const ch of cc.changes) {
        if (ch.type === 'removeNode') {
          sm.members.delete(ch.nodeId);
          if (ch.nodeId !== id && !peers.has(ch.nodeId)) httpPeers.delete(ch.nodeId);
          if (ch.nodeId !== id) transport.removePeer(ch.nodeId);
        } else if (addrs !== undefined) {
          sm.members.set(ch.nodeId, addrs);
          learn(ch.nodeId, addrs);
        }
      }
    },
    onFatal: (err) => {
      process.stderr.write(`kv ${id}: raft failed: ${err.message}\n`);
      process.exit(2);
    },
  });
  // Members added before the snapshot this node restarted from.
  for (const [pid, a] of sm.members) learn(pid, a);
  transport.attach(node);
  const server = await startKvServer({ node, sm, listen: values.listen as string, httpPeers });
  process.stdout.write(`${JSON.stringify({ ready: true, id, http: values.listen, raft: self.raft, pid: process.pid })}\n`);
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    void node
      .stop()
      .then(() => transport.close())
      .then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`kv: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
