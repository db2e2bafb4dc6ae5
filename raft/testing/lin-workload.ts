/**
 * Concurrent clients against the KV service that record a history for the linearizability
 * checker: each client runs get / put / compare-and-set / delete one after another on a few
 * keys, noting when each was called and when it returned. An operation that may or may not
 * have happened (the leader failed mid-way, the connection broke after the request left) is
 * recorded with an unknown output and no return; one that surely did not happen is left out.
 *
 * Runs in-process (`runWorkload`) or as a script printing the history as JSON, so that it can
 * run inside a network namespace:  node --import tsx raft/testing/lin-workload.ts MEMBERS MS CLIENTS
 */
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Operation } from '../linearizability/check.js';
import type { KvInput, KvOutput } from '../linearizability/kv-model.js';
import { KvClient, KvRequestError } from './kv-client.js';

export type KvOp = Operation<KvInput, KvOutput>;

export interface WorkloadResult {
  history: KvOp[];
  ok: number;
  ambiguous: number;
  failed: number;
}

export async function runWorkload(members: string[], durationMs: number, clients: number, keys = 4): Promise<WorkloadResult> {
  const history: KvOp[] = [];
  const res: WorkloadResult = { history, ok: 0, ambiguous: 0, failed: 0 };
  const end = performance.now() + durationMs;
  let seq = 0;
  const client = async (clientId: number): Promise<void> => {
    const c = new KvClient({ members, agent: new Agent({ keepAlive: true, maxSockets: 1 }), deadlineMs: 3000, timeoutMs: 2000 });
    const seen = new Map<string, string>();
    while (performance.now() < end) {
      const key = `k${Math.floor(Math.random() * keys)}`;
      const r = Math.random();
      const value = `c${clientId}-${seq++}`;
      const input: KvInput =
        r < 0.45 ? { op: 'get', key }
        : r < 0.75 ? { op: 'put', key, value }
        : r < 0.95 ? { op: 'cas', key, prev: seen.get(key) ?? 'none', value }
        : { op: 'delete', key };
      const path = `/kv/${key}`;
      const call = performance.now();
      try {
        let output: KvOutput;
        if (input.op === 'get') {
          const a = await c.send('GET', path);
          output = { value: a.status === 404 ? null : a.body };
          if (a.status === 200) seen.set(key, a.body);
        } else if (input.op === 'put') {
          await c.send('PUT', path, input.value);
          output = {};
        } else if (input.op === 'cas') {
          const a = await c.send('POST', `${path}?prev=${encodeURIComponent(input.prev)}`, input.value);
          if (a.status !== 200 && a.status !== 409) throw new Error(`cas answered ${a.status}`);
          output = { ok: a.status === 200 };
        } else {
          await c.send('DELETE', path);
          output = {};
        }
        history.push({ clientId, input, output, call, return: performance.now() });
        res.ok++;
      } catch (e) {
        if (e instanceof KvRequestError && e.ambiguous && input.op !== 'get') {
          history.push({ clientId, input, output: undefined, call, return: Infinity });
          res.ambiguous++;
        } else {
          res.failed++;
        }
      }
    }
    c.agent.destroy();
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  return res;
}

if (process.argv[1]?.endsWith('lin-workload.ts') === true) {
  const [members, ms, n] = process.argv.slice(2);
  runWorkload((members ?? '').split(','), Number(ms), Number(n)).then(
    (r) => process.stdout.write(JSON.stringify(r, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v))),
    (e: unknown) => {
      process.stderr.write(`${String(e)}\n`);
      process.exit(1);
    },
  );
}
