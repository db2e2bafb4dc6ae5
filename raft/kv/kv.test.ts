import { mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvClient, httpRequest } from '../testing/kv-client.js';
import { KvCluster, freePort } from '../testing/kv-cluster.js';
import { parseKvPeers } from './kv-peers.js';
import { untilValue } from '../../test/support/poll.js';

const ROOT = resolve(import.meta.dirname, '../..');
let dir: string;
let cluster: KvCluster;
const agent = new Agent({ keepAlive: false });

interface Status {
  id: number;
  term: number;
  role: string;
  leader: number;
  leaderAddr: string | null;
  commit: number;
  members: number[];
}

async function status(addr: string): Promise<Status> {
  return JSON.parse((await httpRequest(agent, addr, 'GET', '/status')).body) as Status;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raft-kv-'));
  const members = [];
  for (const id of [1, 2, 3]) {
    const host = `127.0.0.${id + 1}`;
    members.push({ id, http: `${host}:${await freePort(host)}`, raft: `${host}:${await freePort(host)}` });
  }
  cluster = new KvCluster({ dir, members, command: [process.execPath, '--import', 'tsx', join(ROOT, 'raft/kv/main.ts')], cwd: ROOT, args: ['--tick-ms', '50'] });
  await Promise.all([1, 2, 3].map((id) => cluster.start(id)));
});
afterAll(async () => {
  await cluster.stopAll();
  await rm(dir, { recursive: true, force: true });
});

describe('raft/kv: the replicated KV service as three processes', () => {
  it('parses its --peers list and refuses a malformed one', () => {
    expect(parseKvPeers('1=127.0.0.1:8001/127.0.0.1:7001')).toEqual(new Map([[1, { http: '127.0.0.1:8001', raft: '127.0.0.1:7001' }]]));
    expect(() => parseKvPeers('1=127.0.0.1:8001')).toThrow(/ID=HTTP_ADDR\/RAFT_ADDR/);
  });

  it('serves PUT, linearizable GET, compare-and-set and DELETE on the leader; followers redirect', async () => {
    const addrs = cluster.opts.members.map((m) => m.http);
    const leader = await untilValue('a leader', async () => {
      const st = await status(addrs[0] as string);
      return st.leaderAddr ?? undefined;
    });
    const st = await status(leader);
    expect(st).toMatchObject({ role: 'leader', members: [1, 2, 3] });
    expect(st.term).toBeGreaterThan(0);
    expect(await httpRequest(agent, leader, 'PUT', '/kv/color', 'blue')).toMatchObject({ status: 200 });
    expect(await httpRequest(agent, leader, 'GET', '/kv/color')).toMatchObject({ status: 200, body: 'blue' });
    expect(await httpRequest(agent, leader, 'POST', '/kv/color?prev=red', 'green')).toMatchObject({ status: 409 });
    expect(await httpRequest(agent, leader, 'POST', '/kv/color?prev=blue', 'green')).toMatchObject({ status: 200 });
    expect(await httpRequest(agent, leader, 'GET', '/kv/color')).toMatchObject({ status: 200, body: 'green' });
    expect(await httpRequest(agent, leader, 'DELETE', '/kv/color')).toMatchObject({ status: 200 });
    expect(await httpRequest(agent, leader, 'GET', '/kv/color')).toMatchObject({ status: 404 });
    const follower = addrs.find((a) => a !== leader) as string;
    // a follower that has not heard from the leader yet answers 503: wait for it to learn
    const r = await untilValue('the follower to know the leader', async () => {
      const x = await httpRequest(agent, follower, 'GET', '/kv/color');
      return x.status === 503 ? undefined : x;
    });
    expect(r.status).toBe(307);
    expect(r.location).toBe(`http://${leader}/kv/color`);
    const client = new KvClient({ members: [follower] });
    expect((await client.send('PUT', '/kv/x', '1')).status).toBe(200);
    expect(await httpRequest(agent, follower, 'GET', '/status').then((a) => (JSON.parse(a.body) as Status).commit)).toBeGreaterThan(0);
  });

  it('keeps its data across a SIGKILL of the leader, and answers 503 when no quorum is left', async () => {
    const addrs = cluster.opts.members.map((m) => m.http);
    const client = new KvClient({ members: addrs });
    await client.send('PUT', '/kv/durable', 'yes');
    const leaderId = (await status(addrs[0] as string)).leader;
    await cluster.kill(leaderId, 'SIGKILL');
    const rest = cluster.opts.members.filter((m) => m.id !== leaderId).map((m) => m.http);
    await untilValue('a new leader', async () => ((await status(rest[0] as string)).leader !== 0 && (await status(rest[0] as string)).leader !== leaderId ? true : undefined));
    expect((await new KvClient({ members: rest }).send('GET', '/kv/durable')).body).toBe('yes');
    await cluster.start(leaderId);
    await untilValue('the old leader caught up', async () => {
      const r = await httpRequest(agent, cluster.member(leaderId).http, 'GET', '/status');
      return (JSON.parse(r.body) as Status).leader !== 0 ? true : undefined;
    });
    // Two members gone: the last one loses its leader and says so.
    const [a, b] = cluster.opts.members.map((m) => m.id).filter((id) => id !== leaderId);
    expect(await cluster.kill(a as number, 'SIGTERM')).toEqual({ code: 0, signal: null }); // a clean stop
    await cluster.kill(b as number, 'SIGKILL');
    const alone = cluster.member(leaderId).http;
    const r = await untilValue('503 without a leader', async () => {
      const ans = await httpRequest(agent, alone, 'PUT', '/kv/k', 'v', 2000);
      return ans.status === 503 ? ans : undefined;
    });
    expect(r.status).toBe(503);
  });
});
