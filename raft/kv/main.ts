/**
 * The replicated KV service, one member per process:
 *
 *   node --single-threaded-gc dist/raft/kv/main.js --id 1 --data /var/lib/kv1 --listen 127.0.0.1:8001 \
 *     --peers 1=127.0.0.1:8001/127.0.0.1:7001,2=127.0.0.2:8001/127.0.0.2:7001,3=... \
 *     --ca ca.crt --cert member-1.crt --key member-1.key [--tick-ms 100] [--election-tick 10]
 *
 * `--peers` lists every initial member as ID=HTTP_ADDR/RAFT_ADDR; this member's Raft listens on
 * its own RAFT_ADDR (mutual TLS with the given CA and member certificate, CN tsc-raft-<id>).
 * A data dir that holds state restarts from it; an empty one bootstraps the listed cluster, or
 * with `--join` waits to be added (POST /members on the leader) and sent a snapshot: then
 * `--peers` lists the current members and this one. Membership changes after that travel
 * through Raft (kv-state-machine.ts); a member removed from the cluster stops (exit 0).
 * SIGTERM/SIGINT stop it cleanly. Prints one JSON line `{"ready":...}` once listening.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TscError } from '../../lib/errors.js';
import { RaftNode } from '../node.js';
import { GrpcTransport } from '../transport/grpc-transport.js';
import { parseKvPeers } from './kv-peers.js';
import { startKvServer } from './kv-server.js';
import { KvStateMachine } from './kv-state-machine.js';

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
  // Set once this member learns it was removed (its own removal applied, or a peer refusing it).
  let removed = false;
  let started = false;
  let stop = (): void => undefined;
  const transport = await GrpcTransport.listen({
    id,
    listen: self.raft,
    tls: { ca: readFileSync(values.ca as string), cert: readFileSync(values.cert as string), key: readFileSync(values.key as string) },
    peers: new Map([...peers].map(([pid, m]) => [pid, m.raft])),
    isRemoved: (pid) => sm.isRemoved(pid),
    onRemoved: () => {
      if (removed) return;
      process.stderr.write(`kv ${id}: a peer says this member was removed from the cluster; stopping\n`);
      removed = true;
      if (started) setImmediate(() => void stopWhenHandedOver());
    },
  });
  // The transport follows the replicated member directory: added members are dialled, removed
  // ones dropped (a restored snapshot or an applied conf change may do either).
  const sm = new KvStateMachine(peers, (members) => {
    for (const [pid, m] of members) transport.addPeer(pid, m.raft);
    for (const pid of transport.peerIds()) if (!members.has(pid)) transport.removePeer(pid);
  });
  const tickMs = int(values['tick-ms'], 'tick-ms', 1000);
  const electionTick = int(values['election-tick'], 'election-tick', 10);
  // A removed leader keeps leading only to hand over to the most caught-up voter (the core does
  // that): give it one election timeout to do so, so that the others need not wait for one.
  const stopWhenHandedOver = async (): Promise<void> => {
    const deadline = Date.now() + tickMs * electionTick;
    while (node.status().role === 'leader' && Date.now() < deadline) await new Promise((r) => setTimeout(r, tickMs));
    stop();
  };
  const node = await RaftNode.start({
    id,
    dir: values.data as string,
    peers: values.join === true ? [] : [...peers.keys()],
    stateMachine: sm,
    transport,
    tickMs,
    electionTick,
    heartbeatTick: int(values['heartbeat-tick'], 'heartbeat-tick', 1),
    snapshotEvery: int(values['snapshot-every'], 'snapshot-every', 10_000),
    onConfChange: (cc, cs) => {
      sm.applyConfChange(cc);
      const inConfig = [...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext].includes(id);
      if (!inConfig && cc.changes.some((c) => c.type === 'removeNode' && c.nodeId === id)) {
        process.stderr.write(`kv ${id}: removed from the cluster; stopping\n`);
        removed = true;
        if (started) setImmediate(() => void stopWhenHandedOver());
      }
    },
    onFatal: (err) => {
      process.stderr.write(`kv ${id}: raft failed: ${err.message}\n`);
      process.exit(2);
    },
  });
  transport.attach(node);
  const server = await startKvServer({ node, sm, listen: values.listen as string });
  process.stdout.write(`${JSON.stringify({ ready: true, id, http: values.listen, raft: self.raft, pid: process.pid })}\n`);
  let stopping = false;
  stop = (): void => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeAllConnections();
    void node
      .stop()
      .then(() => transport.close())
      .then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  started = true;
  if (removed) void stopWhenHandedOver();
}

main().catch((e: unknown) => {
  process.stderr.write(`kv: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
