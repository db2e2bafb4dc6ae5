/**
 * The HTTP face of the replicated KV service (raft/README.md "raft/kv"):
 *   PUT /kv/KEY (body = value), GET /kv/KEY (linearizable: ReadIndex), POST /kv/KEY?prev=V
 *   (compare-and-set, 409 when the value is not V), DELETE /kv/KEY, GET /status.
 * Membership: GET /members; POST /members (JSON {id, http, raft, learner?}) adds a voter or a
 * learner, POST /members/ID/promote makes a caught-up learner a voter, DELETE /members/ID removes
 * one, POST /leader?to=ID hands leadership over. Each is one conf change (or a transfer) through
 * Raft; the new member's addresses travel in the conf change's context (kv-state-machine.ts).
 * Only the leader serves /kv and the membership changes: a follower answers 307 to the leader's
 * address, or 503 while no leader is known. A request whose outcome Raft cannot promise (lost
 * leadership, timeout) answers 503 too: the write may or may not have happened.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { TscError } from '../../lib/errors.js';
import type { ConfChange } from '../core/types.js';
import type { RaftNode } from '../node.js';
import type { KvMember } from './kv-peers.js';
import { type KvCommand, type KvResult, type KvStateMachine, encodeKvCommand, encodeMemberContext } from './kv-state-machine.js';
import { tracerFor } from '../trace.js';

export interface KvServerOptions {
  node: RaftNode;
  sm: KvStateMachine;
  /** host:port of this member's HTTP API. */
  listen: string;
  /** Largest value accepted. Default 1 MiB. */
  maxValueBytes?: number;
  /** How long POST /leader waits for the transfer to finish. Default 5 s. */
  transferTimeoutMs?: number;
}

/** A learner is promoted only once it holds at least this share of the leader's log (as etcd). */
const PROMOTE_MATCH_RATIO = 0.9;

/** An answer decided before any proposal: a client error with its HTTP status. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
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

/** The body of POST /members: `{"id": 4, "http": "h:p", "raft": "h:p", "learner": true}`. */
function parseNewMember(body: string): KvMember & { id: number; learner: boolean } {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    throw new Refusal(400, 'POST /members needs a JSON body {"id", "http", "raft", "learner"?}\n');
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  const addr = /^[^\s:]+:\d+$/;
  if (!Number.isInteger(o.id) || (o.id as number) <= 0) throw new Refusal(400, 'POST /members: "id" must be a positive integer\n');
  for (const k of ['http', 'raft'] as const) {
    if (typeof o[k] !== 'string' || !addr.test(o[k])) throw new Refusal(400, `POST /members: "${k}" must be HOST:PORT\n`);
  }
  return { id: o.id as number, http: o.http as string, raft: o.raft as string, learner: o.learner === true };
}

export async function startKvServer(opts: KvServerOptions): Promise<Server> {
  const { node, sm } = opts;
  const max = opts.maxValueBytes ?? 1024 * 1024;
  const trace = tracerFor(node.status().id);

  const httpAddr = (id: number): string | undefined => sm.members().get(id)?.http;
  const status = (): string => {
    const st = node.status();
    return JSON.stringify({
      id: st.id,
      term: st.term,
      role: st.role,
      leader: st.leader,
      leaderAddr: httpAddr(st.leader) ?? null,
      commit: st.commit,
      applied: st.applied,
      members: st.voters,
      learners: st.learners,
      snapshotIndex: st.snapshotIndex,
    });
  };

  const members = (): string => {
    const st = node.status();
    const voters = new Set(st.voters);
    const list = [...sm.members()]
      .filter(([id]) => voters.has(id) || st.learners.includes(id))
      .sort(([a], [b]) => a - b)
      .map(([id, m]) => ({ id, http: m.http, raft: m.raft, role: voters.has(id) ? 'voter' : 'learner' }));
    return JSON.stringify(list);
  };

  const confChange = async (cc: ConfChange): Promise<string> => JSON.stringify(await node.proposeConfChange(cc));

  /** POST /members, POST /members/ID/promote, DELETE /members/ID (on the leader). */
  const changeMembers = async (req: IncomingMessage, path: string): Promise<string> => {
    const st = node.status();
    const isMember = (id: number): boolean => st.voters.includes(id) || st.learners.includes(id);
    if (path === '' && req.method === 'POST') {
      const m = parseNewMember(await readBody(req, max));
      if (isMember(m.id)) throw new Refusal(409, `member ${m.id} already exists\n`);
      if (sm.isRemoved(m.id)) throw new Refusal(409, `member ${m.id} was removed; ids are not reused\n`);
      const type = m.learner ? 'addLearner' : 'addNode';
      return confChange({ transition: 'auto', changes: [{ type, nodeId: m.id }], context: encodeMemberContext(new Map([[m.id, { http: m.http, raft: m.raft }]])) });
    }
    const pm = /^\/(\d+)(\/promote)?$/.exec(path);
    if (pm === null) throw new Refusal(404, 'not found\n');
    const id = Number(pm[1]);
    if (!isMember(id)) throw new Refusal(404, `no member ${id}\n`);
    if (pm[2] !== undefined && req.method === 'POST') {
      if (!st.learners.includes(id)) throw new Refusal(409, `member ${id} is not a learner\n`);
      const leaderMatch = st.match?.get(st.id) ?? st.commit;
      const match = st.match?.get(id) ?? 0;
      if (match < leaderMatch * PROMOTE_MATCH_RATIO) {
        throw new Refusal(412, `learner ${id} is not caught up (log index ${match} of ${leaderMatch}); retry later\n`);
      }
      const addr = sm.members().get(id);
      const context = addr === undefined ? undefined : encodeMemberContext(new Map([[id, addr]]));
      return confChange({ transition: 'auto', changes: [{ type: 'addNode', nodeId: id }], context });
    }
    if (pm[2] === undefined && req.method === 'DELETE') {
      return confChange({ transition: 'auto', changes: [{ type: 'removeNode', nodeId: id }] });
    }
    throw new Refusal(405, 'method not allowed\n');
  };

  /** POST /leader?to=ID: hands leadership to ID and waits until it leads (or the timeout). */
  const transfer = async (query: URLSearchParams | undefined): Promise<string> => {
    const to = Number(query?.get('to'));
    const st = node.status();
    if (!Number.isInteger(to) || !st.voters.includes(to)) throw new Refusal(400, `POST /leader needs ?to=ID of a voter (voters: ${st.voters.join(', ')})\n`);
    if (to !== st.id) node.transferLeadership(to);
    const deadline = Date.now() + (opts.transferTimeoutMs ?? 5000);
    while (node.status().leader !== to) {
      if (Date.now() > deadline) throw new Refusal(503, `leadership did not move to ${to} in time\n`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return `${to}\n`;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Parsed by hand: a URL object per write was a visible cost on the leader.
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const pathname = q < 0 ? raw : raw.slice(0, q);
    const query = q < 0 ? undefined : new URLSearchParams(raw.slice(q + 1));
    if (pathname === '/status' && req.method === 'GET') return reply(res, 200, status(), { 'content-type': 'application/json' });
    if (pathname === '/members' && req.method === 'GET') return reply(res, 200, members(), { 'content-type': 'application/json' });
    const membership = pathname === '/members' || pathname.startsWith('/members/');
    const leadership = pathname === '/leader';
    if (!membership && !leadership && (!pathname.startsWith('/kv/') || pathname.length <= 4)) return reply(res, 404, 'not found\n');
    const st = node.leadership();
    if (st.role !== 'leader') {
      const addr = httpAddr(st.leader);
      if (st.leader === 0 || addr === undefined) return reply(res, 503, 'no leader\n', { 'retry-after': '1' });
      return reply(res, 307, `leader is ${st.leader}\n`, { location: `http://${addr}${req.url ?? ''}` });
    }
    if (membership || leadership) {
      try {
        const body = membership ? await changeMembers(req, pathname.slice('/members'.length)) : await transfer(query);
        return reply(res, 200, body, { 'content-type': membership ? 'application/json' : 'text/plain; charset=utf-8' });
      } catch (e) {
        if (e instanceof Refusal) return reply(res, e.status, e.message);
        throw e;
      }
    }
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
