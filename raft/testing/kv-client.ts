/**
 * A client of the KV service that finds the leader (follows 307, tries another member on 503 or
 * a refused connection) and says, when an operation fails, whether it may still have happened
 * (`ambiguous`): what a linearizability history needs to know.
 */
import { Agent, request } from 'node:http';

export interface HttpAnswer {
  status: number;
  body: string;
  location?: string | undefined;
}

/** Whether a failed request may have reached the leader and been proposed. */
export class KvRequestError extends Error {
  constructor(
    message: string,
    readonly ambiguous: boolean,
  ) {
    super(message);
  }
}

export function httpRequest(agent: Agent, addr: string, method: string, path: string, body?: string, timeoutMs = 5000): Promise<HttpAnswer> {
  const i = addr.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    let sent = false;
    const req = request(
      { host: addr.slice(0, i), port: Number(addr.slice(i + 1)), method, path, agent, timeout: timeoutMs, headers: body === undefined ? {} : { 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), location: res.headers.location }));
        res.on('error', (e) => reject(new KvRequestError(e.message, true)));
      },
    );
    req.on('socket', (s) => {
      if (s.connecting) s.once('connect', () => (sent = true));
      else sent = true;
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      // A refused or unreachable connection never got the request; anything later might have.
      const before = e.code === 'ECONNREFUSED' || e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' || (!sent && req.reusedSocket !== true && e.message.startsWith('timed out'));
      reject(new KvRequestError(`${method} ${addr}${path}: ${e.message}`, !before));
    });
    req.end(body);
  });
}

export interface KvClientOptions {
  /** Every member's HTTP address. */
  members: string[];
  agent?: Agent;
  /** Give up on one operation after this long. Default 10 s. */
  deadlineMs?: number;
  timeoutMs?: number;
}

export class KvClient {
  private leader: string | undefined;
  private next = 0;
  readonly agent: Agent;

  constructor(private readonly opts: KvClientOptions) {
    this.agent = opts.agent ?? new Agent({ keepAlive: true, maxSockets: 64 });
  }

  /**
   * Sends one operation to the leader. Resolves with the leader's answer (2xx, 404, 409).
   * Rejects with KvRequestError: ambiguous if the operation may have been applied.
   */
  async send(method: string, path: string, body?: string): Promise<HttpAnswer> {
    const end = Date.now() + (this.opts.deadlineMs ?? 10_000);
    let target = this.leader ?? this.pick();
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > end) throw new KvRequestError(`${method} ${path}: no leader answered in time`, false);
      let a: HttpAnswer;
      try {
        a = await httpRequest(this.agent, target, method, path, body, this.opts.timeoutMs ?? 5000);
      } catch (e) {
        this.leader = undefined;
        if (e instanceof KvRequestError && e.ambiguous) throw e;
        target = this.pick();
        await pause(attempt);
        continue;
      }
      if (a.status === 307 && a.location !== undefined) {
        target = new URL(a.location).host;
        continue;
      }
      if (a.status === 503) {
        this.leader = undefined;
        // A follower without a leader never proposed; a leader's 503 is an unknown outcome.
        // A read changes nothing: it is retried like an unanswered one.
        if (!a.body.startsWith('no leader') && method !== 'GET') throw new KvRequestError(`${method} ${target}${path}: ${a.body.trim()}`, true);
        target = this.pick();
        await pause(attempt);
        continue;
      }
      this.leader = target;
      return a;
    }
  }

  private pick(): string {
    const m = this.opts.members[this.next++ % this.opts.members.length];
    return m as string;
  }
}

function pause(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.min(10 * 2 ** attempt, 200)));
}
