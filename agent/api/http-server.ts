/**
 * Serves an `AgentApi` implementation on a unix socket (see rpc.ts for the wire form).
 * The socket is created with mode 0600: only its owner (root) may drive the agent.
 */
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import type { Duplex } from 'node:stream';

import { TscError } from '../../lib/errors.js';
import { traced } from '../../lib/trace.js';
import { serveExecAttach } from './exec-stream.js';
import { socketAnswers } from './socket-probe.js';
import { METHODS, PROGRESS_METHODS, STREAM_METHODS, STREAM_OPTIONS_AT, UPGRADE_METHODS, statusFor, type StreamLine, type StreamMethod, type WireError } from './rpc.js';
import type { AgentApi } from './types.js';

const MAX_BODY = 64 * 1024 * 1024;

export interface AgentServer {
  socketPath: string;
  close(): Promise<void>;
}

function toWire(e: unknown): WireError {
  if (e instanceof TscError) return { code: e.code, message: e.format(), ...(e.hint === undefined ? {} : { hint: e.hint }) };
  return { code: 'ERR_INTERNAL', message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
}

async function readBody(req: IncomingMessage): Promise<unknown[]> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new TscError('ERR_USAGE', `request body over ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return [];
  const args: unknown = JSON.parse(text);
  if (!Array.isArray(args)) throw new TscError('ERR_USAGE', 'request body must be a JSON array of arguments');
  return args;
}

function writeLine(res: ServerResponse, line: StreamLine): boolean {
  return res.write(`${JSON.stringify(line)}\n`);
}

type Fn = (...args: unknown[]) => unknown;

async function handle(api: AgentApi, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://agent');
  const method = url.pathname.replace(/^\/v1\//, '');
  if (req.method !== 'POST' || !(METHODS as readonly string[]).includes(method) || (UPGRADE_METHODS as readonly string[]).includes(method)) {
    res.writeHead(404, { 'content-type': 'application/json' }).end(
      JSON.stringify({ code: 'ERR_NOT_FOUND', message: `no such agent method: ${req.method} ${url.pathname}` }),
    );
    return;
  }
  const fn = (api[method as keyof AgentApi] as Fn).bind(api);
  let args: unknown[];
  try {
    args = await readBody(req);
  } catch (e) {
    const w = toWire(e);
    res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(w));
    return;
  }

  if ((STREAM_METHODS as readonly string[]).includes(method)) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    // The answer begins now, not with the first item (an events stream may stay quiet).
    res.flushHeaders();
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    try {
      // The stream ends when the client goes away: our signal goes into its options argument.
      const at = STREAM_OPTIONS_AT[method as StreamMethod];
      const callArgs = [...args];
      const opts = callArgs[at];
      callArgs[at] = { ...(opts !== null && typeof opts === 'object' ? opts : {}), signal: ac.signal };
      const it = fn(...callArgs) as AsyncIterable<unknown>;
      for await (const value of it) {
        if (ac.signal.aborted) break;
        writeLine(res, { kind: 'item', value });
      }
      writeLine(res, { kind: 'result', value: null });
    } catch (e) {
      writeLine(res, { kind: 'error', value: toWire(e) });
    }
    res.end();
    return;
  }

  if ((PROGRESS_METHODS as readonly string[]).includes(method)) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    // A client that goes away stops the work (a build), where the method takes a signal.
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    try {
      const value = await fn(...args, (p: unknown) => writeLine(res, { kind: 'progress', value: p }), ac.signal);
      writeLine(res, { kind: 'result', value: value ?? null });
    } catch (e) {
      writeLine(res, { kind: 'error', value: toWire(e) });
    }
    res.end();
    return;
  }

  try {
    const value = await traced('api', method, async () => fn(...args));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value ?? null));
  } catch (e) {
    const w = toWire(e);
    res.writeHead(statusFor(w.code), { 'content-type': 'application/json' }).end(JSON.stringify(w));
  }
}

/** Listen on `socketPath` (a stale socket file is replaced) and serve `api`. */
export async function serveAgent(api: AgentApi, socketPath: string): Promise<AgentServer> {
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
  // A socket file is stale only if nothing answers on it: never take over a live agent's.
  if (await socketAnswers(socketPath)) {
    throw new TscError('ERR_CONFLICT', `another agent is already serving ${socketPath}`, { hint: 'stop it first, or give this one another TSC_COMPOSE_RUN_DIR' });
  }
  await rm(socketPath, { force: true });
  const server: Server = createServer((req, res) => {
    handle(api, req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(JSON.stringify(toWire(e)));
    });
  });
  // Upgraded connections (attached execs) leave the server's books: close() ends them itself.
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    serveExecAttach(api, req, socket, head, toWire);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  await chmod(socketPath, 0o600);
  return {
    socketPath,
    close: async () => {
      server.closeAllConnections();
      for (const s of upgraded) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(socketPath, { force: true });
    },
  };
}
