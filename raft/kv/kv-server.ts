/**
 * The HTTP face of the replicated KV service (raft/README.md "raft/kv"):
 *   PUT /kv/KEY (body = value), GET /kv/KEY (linearizable: ReadIndex), POST /kv/KEY?prev=V
 *   (compare-and-set, 409 when the value is not V), DELETE /kv/KEY, GET /status.
 * Only the leader serves /kv: a follower answers 307 to the leader's address, or 503 while no
 * leader is known. A request whose outcome Raft cannot promise (lost leadership, timeout)
 * answers 503 too: the write may or may not have happened.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { TscError } from '../../lib/errors.js';
import type { RaftNode } from '../node.js';
import { tracerFor } from '../trace.js';
import { type KvCommand, type KvResult, type KvStateMachine, encodeKvCommand } from './kv-state-machine.js';

export interface KvServerOptions {
  node: RaftNode;
  sm: KvStateMachine;
  /** host:port of this member's HTTP API. */
  listen: string;
  /** Every member's HTTP host:port, for redirects to the leader. */
  httpPeers: ReadonlyMap<number, string>;
  /** Largest value accepted. Default 1 MiB. */
  maxValueBytes?: number;
}

function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const port = Number(addr.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port)) throw new TscError('ERR_USAGE', `"${addr}" is not HOST:PORT`);
  return { host: addr.slice(0, i), port };
}

function reply(res: ServerResponse, code: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new TscError('ERR_USAGE', `value larger than ${max} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
    req.on('error', reject);
  });
}

export async function startKvServer(opts: KvServerOptions): Promise<Server> {
  const { node, sm } = opts;
  const max = opts.maxValueBytes ?? 1024 * 1024;
  const trace = tracerFor(node.status().id);

  const status = (): string => {
    const st = node.status();
    return JSON.stringify({
      id: st.id,
      term: st.term,
      role: st.role,
      leader: st.leader,
      leaderAddr: opts.httpPeers.get(st.leader) ?? null,
      commit: st.commit,
      applied: st.applied,
      members: st.voters,
      learners: st.learners,
      snapshotIndex: st.snapshotIndex,
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Parsed by hand: a URL object per write was a visible cost on the leader.
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const pathname = q < 0 ? raw : raw.slice(0, q);
    const query = q < 0 ? undefined : new URLSearchParams(raw.slice(q + 1));
    if (pathname === '/status' && req.method === 'GET') return reply(res, 200, status(), { 'content-type': 'application/json' });
    if (!pathname.startsWith('/kv/') || pathname.length <= 4) return reply(res, 404, 'not found\n');
    const key = decodeURIComponent(pathname.slice(4));
    const st = node.leadership();
    if (st.role !== 'leader') {
      const addr = opts.httpPeers.get(st.leader);
      if (st.leader === 0 || addr === undefined) return reply(res, 503, 'no leader\n', { 'retry-after': '1' });
      return reply(res, 307, `leader is ${st.leader}\n`, { location: `http://${addr}${req.url ?? ''}` });
    }
    const propose = async (c: KvCommand): Promise<KvResult> => (await node.propose(encodeKvCommand(c))) as KvResult;
    switch (req.method) {
      case 'GET': {
        await node.readBarrier();
        const v = sm.get(key);
        return v === undefined ? reply(res, 404, 'not found\n') : reply(res, 200, v);
      }
      case 'PUT': {
        const value = await readBody(req, max);
        const r = await propose({ op: 'put', key, value });
        reply(res, 200, `${r.index}\n`);
        trace?.mark('answer', r.index, r.index);
        return;
      }
      case 'POST': {
        const prev = query?.get('prev') ?? null;
        if (prev === null) return reply(res, 400, 'POST needs ?prev=VALUE (compare-and-set)\n');
        const value = await readBody(req, max);
        const r = await propose({ op: 'cas', key, prev, value });
        return r.ok ? reply(res, 200, `${r.index}\n`) : reply(res, 409, 'value differs from prev\n');
      }
      case 'DELETE': {
        const r = await propose({ op: 'delete', key });
        return r.ok ? reply(res, 200, `${r.index}\n`) : reply(res, 404, 'not found\n');
      }
      default:
        return reply(res, 405, 'method not allowed\n', { allow: 'GET, PUT, POST, DELETE' });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      const code = err instanceof TscError && err.code === 'ERR_USAGE' ? 400 : 503;
      if (!res.headersSent) reply(res, code, `${err.message}\n`);
      else res.end();
    });
  });
  server.keepAliveTimeout = 60_000;
  const { host, port } = splitHostPort(opts.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
