/**
 * `AgentApi` over the agent's unix socket (see rpc.ts for the wire form). Every method of
 * the interface is a POST; streams arrive as NDJSON and are handed out as AsyncIterables.
 */
import { request, type IncomingMessage, type RequestOptions } from 'node:http';
import { createInterface } from 'node:readline';

import { TscError, type TscErrorCode } from '../../lib/errors.js';
import { METHODS, PROGRESS_METHODS, STREAM_METHODS, type StreamLine, type WireError } from './rpc.js';
import { attachExec } from './exec-stream.js';
import type { AgentApi, AttachOptions, ExecAttachOptions } from './types.js';

function fromWire(w: WireError): TscError {
  return new TscError(w.code as TscErrorCode, w.message, w.hint === undefined ? {} : { hint: w.hint });
}

function post(socketPath: string, method: string, args: unknown[], signal?: AbortSignal): Promise<IncomingMessage> {
  const body = JSON.stringify(args);
  return new Promise((resolve, reject) => {
    // `servername` is read by Node's HTTP agent (and typed only for TLS): empty, none is derived,
    // which would test the host for an IP address with a regular expression whose first use costs
    // a CLI ~3 ms.
    const options: RequestOptions & { servername: string } = {
      socketPath,
      // A connection per request: unix sockets are cheap, and a kept-alive socket the server
      // closes at the same moment it is reused fails as "socket hang up".
      agent: false,
      path: `/v1/${method}`,
      method: 'POST',
      servername: '',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    };
    const req = request(options, resolve);
    // A stream ended before its answer began: the request goes, and nothing is left open.
    const onAbort = () => {
      req.destroy();
      reject(new TscError('ERR_AGENT', `agent request ${method} was abandoned`));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.once('response', () => signal?.removeEventListener('abort', onAbort));
    req.on('error', (cause: NodeJS.ErrnoException) => {
      if (signal?.aborted === true) return;
      const down = cause.code === 'ENOENT' || cause.code === 'ECONNREFUSED';
      reject(
        new TscError('ERR_AGENT', down ? `no agent answers on ${socketPath}` : `agent request ${method} failed: ${cause.message}`, {
          cause,
          hint: down ? 'start it with `tsc-compose agent`' : undefined,
        }),
      );
    });
    req.end(body);
  });
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

async function* lines(res: IncomingMessage, signal?: AbortSignal): AsyncGenerator<StreamLine> {
  const rl = createInterface({ input: res, crlfDelay: Infinity });
  // A destroyed response never ends readline's iterator: close it ourselves on abort.
  const close = () => rl.close();
  signal?.addEventListener('abort', close, { once: true });
  res.once('close', close);
  try {
    for await (const l of rl) {
      if (l !== '') yield JSON.parse(l) as StreamLine;
    }
  } finally {
    signal?.removeEventListener('abort', close);
  }
}

async function call(socketPath: string, method: string, args: unknown[]): Promise<unknown> {
  const res = await post(socketPath, method, args);
  const text = await readAll(res);
  const value: unknown = text === '' ? null : JSON.parse(text);
  if ((res.statusCode ?? 500) >= 400) throw fromWire(value as WireError);
  return value ?? undefined;
}

/** An AbortSignal in an options argument stays here: it ends the stream instead of travelling. */
function splitSignal(args: unknown[]): { wire: unknown[]; signal: AbortSignal | undefined } {
  let signal: AbortSignal | undefined;
  const wire = args.map((a) => {
    if (a !== null && typeof a === 'object' && 'signal' in a && (a as { signal?: unknown }).signal instanceof AbortSignal) {
      const { signal: s, ...rest } = a as { signal: AbortSignal };
      signal = s;
      return rest;
    }
    return a;
  });
  return { wire, signal };
}

/** (A function: the compiler would take a test before an await for still true after it.) */
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

async function* stream(socketPath: string, method: string, args: unknown[]): AsyncGenerator<unknown> {
  const { wire, signal } = splitSignal(args);
  if (signal !== undefined && signal.aborted) return;
  let res: IncomingMessage;
  try {
    res = await post(socketPath, method, wire, signal);
  } catch (e) {
    if (signal?.aborted === true) return; // the caller ended the stream before it began
    throw e;
  }
  if (aborted(signal)) {
    res.destroy();
    return;
  }
  const onAbort = () => res.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  if ((res.statusCode ?? 500) >= 400) throw fromWire(JSON.parse(await readAll(res)) as WireError);
  try {
    for await (const line of lines(res, signal)) {
      if (line.kind === 'item') yield line.value;
      else if (line.kind === 'error') throw fromWire(line.value);
      else if (line.kind === 'result') return;
    }
  } catch (e) {
    if (signal?.aborted === true) return; // the caller ended the stream
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    res.destroy();
  }
}

async function withProgress(socketPath: string, method: string, args: unknown[]): Promise<unknown> {
  const last = args[args.length - 1];
  const onProgress = typeof last === 'function' ? (last as (p: unknown) => void) : undefined;
  const wireArgs = onProgress === undefined ? args : args.slice(0, -1);
  const res = await post(socketPath, method, wireArgs);
  if ((res.statusCode ?? 500) >= 400) throw fromWire(JSON.parse(await readAll(res)) as WireError);
  for await (const line of lines(res)) {
    if (line.kind === 'progress') onProgress?.(line.value);
    else if (line.kind === 'error') throw fromWire(line.value);
    else if (line.kind === 'result') return line.value ?? undefined;
  }
  throw new TscError('ERR_AGENT', `agent closed the ${method} stream without a result`);
}

/** An AgentApi whose every call goes to the agent listening on `socketPath`. */
export function connectAgent(socketPath: string): AgentApi {
  const api: Record<string, (...args: unknown[]) => unknown> = {};
  for (const m of METHODS) {
    if (m === 'execAttach') api[m] = (id, opts) => attachExec(socketPath, id as string, opts as ExecAttachOptions);
    else if (m === 'attachContainer') api[m] = (id, opts) => attachExec(socketPath, id as string, opts as AttachOptions, 'attachContainer');
    else if ((STREAM_METHODS as readonly string[]).includes(m)) api[m] = (...args) => stream(socketPath, m, args);
    else if ((PROGRESS_METHODS as readonly string[]).includes(m)) api[m] = (...args) => withProgress(socketPath, m, args);
    else api[m] = (...args) => call(socketPath, m, args);
  }
  return api as unknown as AgentApi;
}
