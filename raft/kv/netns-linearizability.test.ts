/**
 * The real-process linearizability test: three KV members, each in a network namespace of its
 * own, joined by veths to a bridge in a fourth ("hub") namespace where the clients run. While
 * the clients record a history, the leader is killed with SIGKILL and restarted, then the new
 * leader is cut off (its veth set down) and healed, then the next one has only its Raft port
 * blocked by nftables (clients still reach it) and is healed. The history must be linearizable.
 * Everything lives in namespaces named after this test's pid; teardown removes them and checks.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { command, describePrivileged, root } from '../../test/support/privileged.js';
import { checkLinearizable } from '../linearizability/check.js';
import { kvModel } from '../linearizability/kv-model.js';
import { KvCluster } from '../testing/kv-cluster.js';
import type { WorkloadResult } from '../testing/lin-workload.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const TAG = `rk${process.pid}`;
const HUB = `${TAG}h`;
const ns = (id: number): string => `${TAG}n${id}`;
const ip = (id: number): string => `10.77.0.${10 + id}`;
const IDS = [1, 2, 3];

async function sh(...args: string[]): Promise<string> {
  return (await run(args[0] as string, args.slice(1))).stdout;
}

/** GET /status of a member, from the hub namespace. */
async function status(id: number): Promise<{ role: string; leader: number; term: number } | undefined> {
  const js = `fetch('http://${ip(id)}:8001/status',{signal:AbortSignal.timeout(1000)}).then(r=>r.text()).then(t=>process.stdout.write(t),()=>{})`;
  const out = await sh('ip', 'netns', 'exec', HUB, process.execPath, '-e', js).catch(() => '');
  return out === '' ? undefined : (JSON.parse(out) as { role: string; leader: number; term: number });
}

async function leader(except: number[] = [], ms = 20_000): Promise<number> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    for (const id of IDS.filter((i) => !except.includes(i))) {
      const st = await status(id);
      if (st?.role === 'leader') return id;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no leader elected');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function ourNamespaces(): Promise<string[]> {
  return (await sh('ip', 'netns', 'list')).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(TAG));
}

describePrivileged('raft/kv: linearizable across SIGKILL and partitions (processes in network namespaces)', [root, command('ip'), command('nft')], () => {
  let dir: string;
  let cluster: KvCluster;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'raft-netns-'));
    await sh('ip', 'netns', 'add', HUB);
    await sh('ip', '-n', HUB, 'link', 'set', 'lo', 'up');
    await sh('ip', '-n', HUB, 'link', 'add', 'br0', 'type', 'bridge');
    await sh('ip', '-n', HUB, 'addr', 'add', '10.77.0.1/24', 'dev', 'br0');
    await sh('ip', '-n', HUB, 'link', 'set', 'br0', 'up');
    for (const id of IDS) {
      await sh('ip', 'netns', 'add', ns(id));
      await sh('ip', '-n', ns(id), 'link', 'set', 'lo', 'up');
      await sh('ip', '-n', HUB, 'link', 'add', `v${id}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(id));
      await sh('ip', '-n', HUB, 'link', 'set', `v${id}`, 'master', 'br0', 'up');
      await sh('ip', '-n', ns(id), 'addr', 'add', `${ip(id)}/24`, 'dev', 'eth0');
      await sh('ip', '-n', ns(id), 'link', 'set', 'eth0', 'up');
    }
    cluster = new KvCluster({
      dir,
      members: IDS.map((id) => ({ id, http: `${ip(id)}:8001`, raft: `${ip(id)}:7001` })),
      command: [process.execPath, '--import', 'tsx', join(ROOT, 'raft/kv/main.ts')],
      prefix: (id) => ['ip', 'netns', 'exec', ns(id)],
      cwd: ROOT,
      args: ['--tick-ms', '50', '--election-tick', '10'],
    });
    await Promise.all(IDS.map((id) => cluster.start(id)));
  });

  afterAll(async () => {
    await cluster?.stopAll();
    for (const n of await ourNamespaces()) await sh('ip', 'netns', 'del', n).catch(() => '');
    await rm(dir, { recursive: true, force: true });
  });

  it('a history of concurrent clients is linearizable through a leader SIGKILL + restart and a partition + heal', async () => {
    const first = await leader();
    const members = IDS.map((id) => `${ip(id)}:8001`).join(',');
    const workload = run('ip', ['netns', 'exec', HUB, process.execPath, '--import', 'tsx', join(ROOT, 'raft/testing/lin-workload.ts'), members, '22000', '4'], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
    await sleep(2500);
    await cluster.kill(first, 'SIGKILL');
    const second = await leader([first]);
    await sleep(1500);
    await cluster.start(first);
    await sleep(1500);
    // Cut the current leader off: its link to the bridge goes down, then comes back.
    const cut = await leader();
    await sh('ip', '-n', HUB, 'link', 'set', `v${cut}`, 'down');
    const during = await leader([cut]);
    await sleep(2500);
    await sh('ip', '-n', HUB, 'link', 'set', `v${cut}`, 'up');
    await sleep(1500);
    // Cut only Raft traffic (nftables in the member's namespace) from the leader: clients still
    // reach it, and it must not answer a read or a write as if it still led.
    const fenced = await leader();
    const nft = (...args: string[]): Promise<string> => sh('ip', 'netns', 'exec', ns(fenced), 'nft', ...args);
    await nft('add', 'table', 'inet', 'raftcut');
    await nft('add', 'chain', 'inet', 'raftcut', 'in', '{ type filter hook input priority 0; }');
    await nft('add', 'chain', 'inet', 'raftcut', 'out', '{ type filter hook output priority 0; }');
    await nft('add', 'rule', 'inet', 'raftcut', 'in', 'tcp', 'dport', '7001', 'drop');
    await nft('add', 'rule', 'inet', 'raftcut', 'out', 'tcp', 'dport', '7001', 'drop');
    const behindFence = await leader([fenced]);
    await sleep(2000);
    await nft('delete', 'table', 'inet', 'raftcut');
    const { stdout } = await workload;
    const result = JSON.parse(stdout, (_k, v: unknown) => (v === 'Infinity' ? Infinity : v)) as WorkloadResult;
    expect(second).not.toBe(first);
    expect(during).not.toBe(cut);
    expect(behindFence).not.toBe(fenced);
    expect(result.ok).toBeGreaterThan(100);
    const check = checkLinearizable(kvModel, result.history);
    if (!check.ok) console.error(check.counterexample?.join('\n'));
    expect(check.ok).toBe(true);
    // The healed member rejoins: every member answers and agrees on one leader.
    const final = await leader();
    for (const id of IDS) await expect.poll(async () => (await status(id))?.leader, { timeout: 15_000 }).toBe(final);
  });

  it('teardown leaves no process, namespace or link behind', async () => {
    const pids = cluster.pids();
    expect(pids.length).toBe(3);
    await cluster.stopAll();
    for (const n of await ourNamespaces()) await sh('ip', 'netns', 'del', n);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(await ourNamespaces()).toEqual([]);
    expect(await sh('ip', '-o', 'link', 'show')).not.toContain(TAG);
  });
});
