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
import type { ConfChange, ConfState } from '../core/types.js';
import type { RaftNode } from '../node.js';
import { tracerFor } from '../trace.js';
import { type KvCommand, type KvMemberAddrs, type KvResult, type KvStateMachine, encodeKvCommand } from './kv-state-machine.js';

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

/** The addresses a member-adding conf change carries (`{"http":..,"raft":..}`), if any. */
export function parseMemberContext(ctx: string | undefined): KvMemberAddrs | undefined {
  if (ctx === undefined || ctx === '') return undefined;
  try {
    const v = JSON.parse(ctx) as Partial<KvMemberAddrs>;
    return typeof v.http === 'string' && typeof v.raft === 'string' ? { http: v.http, raft: v.raft } : undefined;
  } catch {
    return undefined;
  }
}

function memberId(s: string | null | undefined): number {
  const n = Number(s);
  if (s === null || s === undefined || !Number.isInteger(n) || n <= 0) throw new TscError('ERR_USAGE', `member id "${s ?? ''}" is not a positive integer`);
  return n;
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

  const members = (): string => {
    const st = node.status();
    const addrs: Record<string, string> = {};
    for (const m of [...st.voters, ...st.learners]) {
      const a = opts.httpPeers.get(m) ?? (m === st.id ? opts.listen : undefined);
      if (a !== undefined) addrs[m] = a;
    }
    return JSON.stringify({ voters: st.voters, learners: st.learners, http: addrs });
  };

  /**
   * Membership, on the leader: POST /members?id=N&http=H:P&raft=H:P[&learner=1] adds a voter
   * (or a learner) whose process was started with --join; POST /members/N/promote makes a
   * learner a voter; DELETE /members/N removes a member. Each answers with the membership once
   * the change is applied here.
   */
  const changeMembers = async (req: IncomingMessage, res: ServerResponse, pathname: string, query: URLSearchParams | undefined): Promise<void> => {
    const parts = pathname.split('/').filter((p) => p !== '');
    let cc: ConfChange;
    if (req.method === 'POST' && parts.length === 1) {
      const nodeId = memberId(query?.get('id'));
      const http = query?.get('http') ?? '';
      const raft = query?.get('raft') ?? '';
      splitHostPort(http);
      splitHostPort(raft);
      const learner = query?.get('learner') === '1';
      cc = { transition: 'auto', changes: [{ type: learner ? 'addLearner' : 'addNode', nodeId }], context: JSON.stringify({ http, raft }) };
    } else if (req.method === 'POST' && parts.length === 3 && parts[2] === 'promote') {
      const nodeId = memberId(parts[1]);
      const known = opts.sm.members.get(nodeId);
      cc = { transition: 'auto', changes: [{ type: 'addNode', nodeId }], context: known === undefined ? undefined : JSON.stringify(known) };
    } else if (req.method === 'DELETE' && parts.length === 2) {
      cc = { transition: 'auto', changes: [{ type: 'removeNode', nodeId: memberId(parts[1]) }] };
    } else {
      return reply(res, 405, 'use POST /members?id=N&http=H:P&raft=H:P[&learner=1], POST /members/N/promote or DELETE /members/N\n');
    }
    const cs = (await node.proposeConfChange(cc)) as ConfState;
    return reply(res, 200, JSON.stringify({ voters: cs.voters, learners: cs.learners }), { 'content-type': 'application/json' });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Parsed by hand: a URL object per write was a visible cost on the leader.
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const pathname = q < 0 ? raw : raw.slice(0, q);
    const query = q < 0 ? undefined : new URLSearchParams(raw.slice(q + 1));
    if (pathname === '/status' && req.method === 'GET') return reply(res, 200, status(), { 'content-type': 'application/json' });
    if (pathname === '/members' && req.method === 'GET') return reply(res, 200, members(), { 'content-type': 'application/json' });
    const isMembers = pathname === '/members' || pathname.startsWith('/members/');
    if (!isMembers && (!pathname.startsWith('/kv/') || pathname.length <= 4)) return reply(res, 404, 'not found\n');
    const st = node.leadership();
    if (st.role !== 'leader') {
      const addr = opts.httpPeers.get(st.leader);
      if (st.leader === 0 || addr === undefined) return reply(res, 503, 'no leader\n', { 'retry-after': '1' });
      return reply(res, 307, `leader is ${st.leader}\n`, { location: `http://${addr}${req.url ?? ''}` });
    }
    if (isMembers) return changeMembers(req, res, pathname, query);
    const key = decodeURIComponent(pathname.slice(4));
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
