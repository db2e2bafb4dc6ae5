/**
 * `execAttach` and `attachContainer` on the agent's socket: as Docker hijacks the connection of an exec start, the
 * client asks `POST /v1/execAttach?args=<JSON>` with `Upgrade: tcp`, and after the 101 both
 * sides speak frames in Docker's stream format: an 8-byte header (stream type, 3 zero bytes,
 * payload length big-endian) then the payload. Types: 0 stdin, 1 stdout, 2 stderr (Docker's
 * own), and ours: 3 the exit (JSON `{exitCode}`), 4 an error (JSON WireError), 5 stdin closed,
 * 6 a terminal size ("ROWS COLS"), 7 attached (the agent holds the session: what the process
 * shows from then on arrives, and a failure to attach came before it as an error frame).
 * A client that closes the connection without an exit frame detaches (`ExecSession.close`).
 */
import type { IncomingMessage } from 'node:http';
import { request } from 'node:http';
import { PassThrough, Writable, type Duplex, type Readable } from 'node:stream';

import { TscError, type TscErrorCode } from '../../lib/errors.js';
import { UPGRADE_METHODS, type WireError } from './rpc.js';

type UpgradeMethod = (typeof UPGRADE_METHODS)[number];
import type { AgentApi, AttachOptions, ExecAttachOptions, ExecSession } from './types.js';

export const FRAME = { stdin: 0, stdout: 1, stderr: 2, exit: 3, error: 4, stdinClose: 5, resize: 6, attached: 7 } as const;

export function frame(type: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(8);
  head[0] = type;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** A push parser of frames: feed it chunks as they come, whole frames go to `onFrame`. */
export function frameDecoder(onFrame: (type: number, payload: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 8) {
      const len = pending.readUInt32BE(4);
      if (pending.length < 8 + len) break;
      onFrame(pending[0] ?? 0, pending.subarray(8, 8 + len));
      pending = pending.subarray(8 + len);
    }
  };
}

function ended(s: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (s.readableEnded) resolve();
    s.once('end', resolve);
    s.once('close', resolve);
  });
}

/** The server side: answer an upgrade request for `execAttach` on `socket`. */
export function serveExecAttach(api: AgentApi, req: IncomingMessage, socket: Duplex, head: Buffer, toWire: (e: unknown) => WireError): void {
  const url = new URL(req.url ?? '/', 'http://agent');
  const method = url.pathname.replace(/^\/v1\//, '');
  if (!(UPGRADE_METHODS as readonly string[]).includes(method)) {
    socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  // The header tells a client this agent sends the attached frame (an older one does not).
  socket.write('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nX-Tsc-Attached-Frame: 1\r\n\r\n');
  let args: unknown;
  try {
    args = JSON.parse(url.searchParams.get('args') ?? '[]');
  } catch (e) {
    socket.end(frame(FRAME.error, JSON.stringify(toWire(e))));
    return;
  }
  const [id, opts] = Array.isArray(args) ? (args as [string, ExecAttachOptions & Partial<AttachOptions>]) : ['', { cmd: [] }];
  const attach = (): Promise<ExecSession> => api.attachContainer(id, { stdin: opts.stdin === true, ...(opts.fromStart === true ? { fromStart: true } : {}) });
  (method === 'attachContainer' ? attach() : api.execAttach(id, opts)).then(
    (session) => {
      let finished = false;
      // The client went away before the end (its FIN: the server's sockets are half-open
      // until it answers): a detach, the process keeps running.
      const gone = (): void => {
        if (finished) return;
        finished = true;
        session.close?.();
        socket.destroy();
      };
      socket.once('end', gone);
      socket.once('close', gone);
      socket.write(frame(FRAME.attached));
      session.stdout.on('data', (d: Buffer) => socket.write(frame(FRAME.stdout, d)));
      session.stderr.on('data', (d: Buffer) => socket.write(frame(FRAME.stderr, d)));
      const decode = frameDecoder((type, payload) => {
        if (type === FRAME.stdin) session.stdin.write(payload);
        else if (type === FRAME.stdinClose) session.stdin.end();
        else if (type === FRAME.resize) {
          const [rows, cols] = payload.toString().split(' ').map(Number);
          if (rows !== undefined && cols !== undefined) session.resize?.(rows, cols);
        }
      });
      if (head.length > 0) decode(head);
      socket.on('data', decode);
      socket.on('error', () => undefined);
      session.stdin.on('error', () => undefined);
      void Promise.all([session.exit, ended(session.stdout), ended(session.stderr)]).then(
        ([exitCode]) => {
          finished = true;
          socket.end(frame(FRAME.exit, JSON.stringify({ exitCode })));
        },
        (e: unknown) => {
          finished = true;
          socket.end(frame(FRAME.error, JSON.stringify(toWire(e))));
        },
      );
    },
    (e: unknown) => socket.end(frame(FRAME.error, JSON.stringify(toWire(e)))),
  );
}

/** The client side: `execAttach` (or `attachContainer`) over the agent's socket. */
export function attachExec(socketPath: string, id: string, opts: ExecAttachOptions | AttachOptions, method: UpgradeMethod = 'execAttach'): Promise<ExecSession> {
  return new Promise((resolve, reject) => {
    const req = request({
      socketPath,
      agent: false,
      path: `/v1/${method}?args=${encodeURIComponent(JSON.stringify([id, opts]))}`,
      method: 'POST',
      headers: { Connection: 'Upgrade', Upgrade: 'tcp' },
    });
    req.on('upgrade', (res: IncomingMessage, socket: Duplex, head: Buffer) => {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let settle!: { resolve: (n: number) => void; reject: (e: Error) => void };
      const exit = new Promise<number>((res, rej) => (settle = { resolve: res, reject: rej }));
      // A caller that never awaits the exit (exec -d) must not crash on an unhandled rejection.
      exit.catch(() => undefined);
      let done = false;
      const finish = (f: () => void) => {
        if (done) return;
        done = true;
        stdout.end();
        stderr.end();
        f();
        if (!attached) exit.then(() => resolve(session), reject);
      };
      // Resolved once the agent holds the session: a refusal (no such container, not running)
      // rejects the call itself, and nothing the process shows after that is missed.
      let attached = false;
      const decode = frameDecoder((type, payload) => {
        if (type === FRAME.attached && !attached) {
          attached = true;
          resolve(session);
        } else if (type === FRAME.stdout) stdout.write(payload);
        else if (type === FRAME.stderr) stderr.write(payload);
        else if (type === FRAME.exit) finish(() => settle.resolve((JSON.parse(payload.toString()) as { exitCode: number }).exitCode));
        else if (type === FRAME.error) {
          const w = JSON.parse(payload.toString()) as WireError;
          finish(() => settle.reject(new TscError(w.code as TscErrorCode, w.message, w.hint === undefined ? {} : { hint: w.hint })));
        }
      });
      socket.on('error', () => undefined);
      socket.on('close', () => finish(() => settle.reject(new TscError('ERR_AGENT', `the agent closed exec in ${id} without an exit code`))));
      const stdin = new Writable({
        write(chunk: Buffer, _enc, cb) {
          socket.write(frame(FRAME.stdin, chunk), () => cb());
        },
        final(cb) {
          socket.write(frame(FRAME.stdinClose), () => cb());
        },
      });
      const resize = (rows: number, cols: number) => {
        if (!done) socket.write(frame(FRAME.resize, `${rows} ${cols}`));
      };
      const session: ExecSession = { stdin, stdout, stderr, exit, resize, close: () => socket.destroy() };
      // an agent started before the attached frame existed: the session is as ready as it gets
      if (res.headers['x-tsc-attached-frame'] === undefined) {
        attached = true;
        resolve(session);
      }
      if (head.length > 0) decode(head);
      socket.on('data', decode);
    });
    req.on('response', (res: IncomingMessage) => {
      res.resume();
      reject(new TscError('ERR_AGENT', `the agent refused to attach exec (HTTP ${res.statusCode ?? 0})`));
    });
    req.on('error', (cause: NodeJS.ErrnoException) => reject(new TscError('ERR_AGENT', `exec attach failed: ${cause.message}`, { cause })));
    req.end();
  });
}
