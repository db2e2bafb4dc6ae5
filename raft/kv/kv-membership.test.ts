import { mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { untilValue } from '../../test/support/poll.js';
import { KvClient, httpRequest } from '../testing/kv-client.js';
import { KvCluster, type KvMemberAddr, freePort } from '../testing/kv-cluster.js';

const ROOT = resolve(import.meta.dirname, '../..');
let dir: string;
let cluster: KvCluster;
const agent = new Agent({ keepAlive: false });

interface Status {
  id: number;
  role: string;
  leader: number;
  applied: number;
  commit: number;
  members: number[];
  learners: number[];
}

async function status(id: number): Promise<Status> {
  return JSON.parse((await httpRequest(agent, cluster.member(id).http, 'GET', '/status')).body) as Status;
}

function client(ids: number[]): KvClient {
  return new KvClient({ members: ids.map((id) => cluster.member(id).http), deadlineMs: 20_000 });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raft-kv-members-'));
  const members: KvMemberAddr[] = [];
  for (const id of [1, 2, 3, 4]) {
    const host = `127.0.0.${id + 20}`;
    members.push({ id, http: `${host}:${await freePort(host)}`, raft: `${host}:${await freePort(host)}`, joins: id === 4 });
  }
  // Snapshots often: the joiner and the restarted member learn the directory from one.
  cluster = new KvCluster({ dir, members, command: [process.execPath, '--import', 'tsx', join(ROOT, 'raft/kv/main.ts')], cwd: ROOT, args: ['--tick-ms', '50', '--snapshot-every', '20'] });
  await Promise.all([1, 2, 3].map((id) => cluster.start(id)));
});
afterAll(async () => {
  await cluster.stopAll();
  await rm(dir, { recursive: true, force: true });
});

describe('raft/kv: membership changes through Raft', () => {
  it('adds a learner that catches up, promotes it, hands it leadership, removes a member, and restarts with the new membership', async () => {
    const c = client([1, 2, 3]);
    for (let i = 0; i < 30; i++) expect((await c.send('PUT', `/kv/k${i}`, `v${i}`)).status).toBe(200);

    // A fourth member starts empty with --join and is added as a learner.
    await cluster.start(4);
    const four = cluster.member(4);
    const added = await c.send('POST', '/members', JSON.stringify({ id: 4, http: four.http, raft: four.raft, learner: true }));
    expect(added.status).toBe(200);
    expect(JSON.parse(added.body)).toMatchObject({ voters: [1, 2, 3], learners: [4] });
    expect((await c.send('POST', '/members', JSON.stringify({ id: 4, http: four.http, raft: four.raft }))).status).toBe(409);
    expect((await c.send('POST', '/members', '{"id": 5}')).status).toBe(400);
    // A learner that never started cannot be promoted; once removed, its id is not reused.
    const ghost = JSON.stringify({ id: 5, http: '127.0.0.25:9', raft: '127.0.0.25:9', learner: true });
    expect((await c.send('POST', '/members', ghost)).status).toBe(200);
    const refused = await c.send('POST', '/members/5/promote');
    expect(refused.status).toBe(412);
    expect(refused.body).toMatch(/learner 5 is not caught up/);
    expect((await c.send('DELETE', '/members/5')).status).toBe(200);
    expect((await c.send('POST', '/members', ghost)).body).toMatch(/member 5 was removed/);
    const commit = (await status(1)).commit;
    await untilValue('the learner to apply the log', async () => (await status(4)).applied >= commit);
    expect(await status(4)).toMatchObject({ role: 'follower', members: [1, 2, 3], learners: [4] });

    // Promotion: the learner is caught up, so the leader makes it a voter.
    const promoted = await c.send('POST', '/members/4/promote');
    expect(promoted.status).toBe(200);
    expect(JSON.parse(promoted.body)).toMatchObject({ voters: [1, 2, 3, 4], learners: [] });
    expect((await c.send('POST', '/members/4/promote')).status).toBe(409); // no longer a learner
    const listed = JSON.parse((await c.send('GET', '/members')).body) as { id: number; role: string; raft: string }[];
    expect(listed).toEqual([1, 2, 3, 4].map((id) => ({ id, http: cluster.member(id).http, raft: cluster.member(id).raft, role: 'voter' })));

    // Leadership moves to the new member, which then takes writes.
    expect((await c.send('POST', '/leader?to=4')).status).toBe(200);
    for (const id of [1, 2, 3, 4]) await untilValue(`member ${id} to follow 4`, async () => (await status(id)).leader === 4);
    expect((await httpRequest(agent, four.http, 'PUT', '/kv/after-transfer', 'yes')).status).toBe(200);

    // Member 1 is removed: its process stops on its own, the other three go on.
    const removed = await client([2, 3, 4]).send('DELETE', '/members/1');
    expect(removed.status).toBe(200);
    expect(JSON.parse(removed.body)).toMatchObject({ voters: [2, 3, 4] });
    const exit = await new Promise<number | null>((r) => {
      const p = cluster.procs.get(1);
      if (p === undefined || p.exitCode !== null) r(p?.exitCode ?? null);
      else p.once('exit', (code) => r(code));
    });
    expect(exit).toBe(0);
    cluster.procs.delete(1);
    expect((await client([2, 3, 4]).send('DELETE', '/members/1')).status).toBe(404);

    // Member 2 restarts from its data dir with the old --peers list: the replicated directory
    // (snapshot + WAL), not the flag, tells it where member 4 listens.
    await cluster.kill(2, 'SIGTERM');
    const rest = client([3, 4]);
    for (let i = 0; i < 5; i++) expect((await rest.send('PUT', `/kv/while-2-down-${i}`, 'x')).status).toBe(200);
    await cluster.start(2);
    const want = (await status(4)).commit;
    await untilValue('member 2 to catch up', async () => (await status(2)).applied >= want);
    expect(await status(2)).toMatchObject({ members: [2, 3, 4] });
    const after = client([2, 3, 4]);
    expect((await after.send('GET', '/kv/while-2-down-4')).body).toBe('x');
    expect((await after.send('GET', '/kv/k29')).body).toBe('v29');
    expect((await after.send('GET', '/kv/after-transfer')).body).toBe('yes');
  });
});
