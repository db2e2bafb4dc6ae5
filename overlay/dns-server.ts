/**
 * The embedded DNS server: one per host, the thin shell around `answerQuery`. It listens on
 * UDP and TCP on any number of addresses (the bridges' gateways), keeps the current table in
 * memory (replaced whole by `setTable`, so answers change the moment a container attaches or
 * leaves) and forwards what it does not own to the upstreams, faithfully: the upstream's bytes
 * go back unchanged (NXDOMAIN and SERVFAIL included); over UDP a truncated answer is asked
 * again over TCP; each upstream gets `timeoutMs` (4 s) before the next one is tried.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { Worker } from 'node:worker_threads';

import { TscError } from '../lib/errors.js';
import type { DnsTable } from './dns-answer.js';
import type { DnsWorkerReply, DnsWorkerRequest } from './dns-worker.js';
import { answerQuery } from './dns-answer.js';
import { createDnsFastPath } from './dns-fast-path.js';
import { decodeQuery, encodeReply, isTruncated, messageId, servfailFor } from './dns-wire.js';

export interface DnsListenAddress {
  address: string;
  port: number;
}

export interface DnsServerOptions {
  table?: DnsTable | undefined;
  timeoutMs?: number | undefined;
  /** Source of per-query seeds for shuffling; random by default. */
  seed?: (() => number) | undefined;
  /**
   * Worker threads each running one more server on the next ports of every address
   * (port + 1, port + 2, ...), fed the same tables; the resolver rules spread containers'
   * queries over them. 0 (default): this thread answers alone.
   */
  workers?: number | undefined;
}

export interface DnsServer {
  setTable(table: DnsTable): void;
  /** Resolves once every worker thread answers from the latest table. */
  tableApplied(): Promise<void>;
  table(): DnsTable;
  /** Start answering on an address (idempotent); resolves once both sockets are bound. */
  listen(at: DnsListenAddress): Promise<void>;
  unlisten(at: DnsListenAddress): Promise<void>;
  listening(): DnsListenAddress[];
  close(): Promise<void>;
}

interface Listener {
  udp: dgram.Socket;
  tcp: net.Server;
  conns: Set<net.Socket>;
}

/** `1.2.3.4`, `1.2.3.4:5353`, `[fd00::1]:53`, `fd00::1` -> host and port. */
export function parseUpstream(text: string): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) return { host: v6[1] as string, port: v6[2] ? Number(v6[2]) : 53 };
  const colons = text.split(':').length - 1;
  if (colons === 1) {
    const [h, p] = text.split(':');
    return { host: h as string, port: Number(p) };
  }
  return { host: text, port: 53 };
}

function udpAsk(query: Buffer, host: string, port: number, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const id = messageId(query);
    const done = (b: Buffer | undefined): void => {
      clearTimeout(timer);
      sock.close();
      resolve(b);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('message', (msg) => {
      if (messageId(msg) === id) done(msg);
    });
    sock.on('error', () => done(undefined));
    sock.send(query, port, host);
  });
}

function tcpAsk(query: Buffer, host: string, port: number, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    let settled = false;
    const done = (b: Buffer | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(b);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    sock.on('error', () => done(undefined));
    sock.on('close', () => done(undefined));
  });
}

/** Ask the upstreams in order; undefined when none answered in time. */
export async function forwardQuery(
  query: Buffer,
  upstreams: readonly string[],
  opts: { overTcp: boolean; timeoutMs: number },
): Promise<Buffer | undefined> {
  for (const u of upstreams.slice(0, 3)) {
    const { host, port } = parseUpstream(u);
    let r = opts.overTcp ? await tcpAsk(query, host, port, opts.timeoutMs) : await udpAsk(query, host, port, opts.timeoutMs);
    if (r !== undefined && !opts.overTcp && isTruncated(r)) r = (await tcpAsk(query, host, port, opts.timeoutMs)) ?? r;
    if (r !== undefined) return r;
  }
  return undefined;
}

interface WorkerHandle {
  ask(req: DistributiveOmit<DnsWorkerRequest, 'seq'>): Promise<void>;
  stop(): Promise<void>;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** One server in a worker thread (dns-worker.ts); requests are answered in order. */
function startWorker(timeoutMs: number): WorkerHandle {
  // Run from source (tsx) the worker is the .ts file, built it is the .js one.
  const fromSource = import.meta.url.endsWith('.ts');
  const file = new URL(fromSource ? './dns-worker.ts' : './dns-worker.js', import.meta.url);
  // From source, the worker registers tsx itself before loading the .ts module (loader
  // hooks of the main thread do not reach workers).
  const w = fromSource
    ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => { t.register(); return import(${JSON.stringify(file.href)}); });`, {
        eval: true,
        workerData: { timeoutMs },
      })
    : new Worker(file, { workerData: { timeoutMs } });
  w.unref();
  let seq = 0;
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  w.on('message', (m: DnsWorkerReply) => {
    const p = pending.get(m.seq);
    pending.delete(m.seq);
    if (m.error === undefined) p?.resolve();
    else p?.reject(new TscError('ERR_NETWORK', `embedded DNS worker: ${m.error}`));
  });
  w.on('error', (e) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  });
  return {
    ask(req) {
      const s = seq++;
      return new Promise<void>((resolve, reject) => {
        pending.set(s, { resolve, reject });
        w.postMessage({ ...req, seq: s });
      });
    },
    async stop() {
      await this.ask({ kind: 'close' }).catch(() => undefined);
      await w.terminate();
    },
  };
}

function key(at: DnsListenAddress): string {
  return `${at.address}#${at.port}`;
}

export function createDnsServer(opts: DnsServerOptions = {}): DnsServer {
  let table: DnsTable = opts.table ?? { endpoints: [], upstreams: [] };
  const timeoutMs = opts.timeoutMs ?? 4000;
  const seed = opts.seed ?? (() => Math.floor(Math.random() * 2 ** 32));
  const listeners = new Map<string, Listener>();
  const fast = createDnsFastPath();
  const workers = Array.from({ length: opts.workers ?? 0 }, () => startWorker(timeoutMs));
  let applied: Promise<unknown> = Promise.all(workers.map((w) => w.ask({ kind: 'table', table })));

  /** Answer one message through `send`: at once when the answer is ours, later when forwarded. */
  function handle(msg: Buffer, asker: string, overTcp: boolean, send: (reply: Buffer) => void): void {
    const quick = fast.answer(msg, asker, seed);
    if (quick !== undefined) {
      send(quick);
      return;
    }
    const q = decodeQuery(msg);
    if (q === undefined) return;
    const d = answerQuery(q, table, asker, seed());
    fast.learn(msg, asker, d);
    if (d.kind === 'reply') {
      send(encodeReply(d.reply));
      return;
    }
    const asked = d.upstreams.length === 0 ? Promise.resolve(undefined) : forwardQuery(msg, d.upstreams, { overTcp, timeoutMs });
    void asked.then((r) => {
      const out = r ?? servfailFor(msg);
      if (out !== undefined) send(out);
    });
  }

  function serveTcp(sock: net.Socket, conns: Set<net.Socket>): void {
    conns.add(sock);
    let buf = Buffer.alloc(0);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => sock.destroy());
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        handle(msg, sock.remoteAddress ?? '', true, (r) => {
          if (sock.destroyed) return;
          const head = Buffer.alloc(2);
          head.writeUInt16BE(r.length);
          sock.write(Buffer.concat([head, r]));
        });
      }
    });
  }

  async function listen(at: DnsListenAddress): Promise<void> {
    if (listeners.has(key(at))) return;
    await Promise.all(workers.map((w, k) => w.ask({ kind: 'listen', at: { address: at.address, port: at.port + k + 1 } })));
    // Replies go to IP literals: skip dgram's per-send dns.lookup round trip.
    const udp = dgram.createSocket({
      type: at.address.includes(':') ? 'udp6' : 'udp4',
      lookup: (host, _opts, cb) => cb(null, host, at.address.includes(':') ? 6 : 4),
    });
    const conns = new Set<net.Socket>();
    const tcp = net.createServer((s) => serveTcp(s, conns));
    const bindUdp = new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(at.port, at.address, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const bindTcp = new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(at.port, at.address, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    try {
      await Promise.all([bindUdp, bindTcp]);
    } catch (e) {
      udp.close();
      tcp.close();
      throw new TscError('ERR_NETWORK', `embedded DNS cannot listen on ${at.address}:${at.port}: ${(e as Error).message}`, { cause: e });
    }
    udp.on('error', () => undefined);
    udp.on('message', (msg, rinfo) => {
      // The common query answers here without a closure or a decode (dns-fast-path.ts).
      const quick = fast.answer(msg, rinfo.address, seed);
      if (quick !== undefined) udp.send(quick, rinfo.port, rinfo.address);
      else handle(msg, rinfo.address, false, (r) => udp.send(r, rinfo.port, rinfo.address));
    });
    listeners.set(key(at), { udp, tcp, conns });
  }

  async function unlisten(at: DnsListenAddress): Promise<void> {
    const l = listeners.get(key(at));
    if (l === undefined) return;
    listeners.delete(key(at));
    await Promise.all(workers.map((w, k) => w.ask({ kind: 'unlisten', at: { address: at.address, port: at.port + k + 1 } })));
    for (const c of l.conns) c.destroy();
    await Promise.all([
      new Promise<void>((r) => l.udp.close(() => r())),
      new Promise<void>((r) => l.tcp.close(() => r())),
    ]);
  }

  return {
    setTable(t) {
      table = t;
      fast.clear();
      applied = Promise.all(workers.map((w) => w.ask({ kind: 'table', table: t })));
    },
    async tableApplied() {
      await applied;
    },
    table: () => table,
    listen,
    unlisten,
    listening: () => [...listeners.keys()].map((k) => {
      const [address, port] = k.split('#');
      return { address: address as string, port: Number(port) };
    }),
    async close() {
      for (const k of [...listeners.keys()]) {
        const [address, port] = k.split('#');
        await unlisten({ address: address as string, port: Number(port) });
      }
      await Promise.all(workers.map((w) => w.stop()));
      workers.length = 0;
    },
  };
}
