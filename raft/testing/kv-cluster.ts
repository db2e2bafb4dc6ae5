/**
 * Runs KV service members as real processes (for the KV, netns and bench tests): each with its
 * own data dir and member certificate, started, killed (any signal) and restarted, and all of
 * them stopped at the end. `prefix(id)` wraps a member's command, e.g. in `ip netns exec NS`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type MemberFiles, makeClusterPki } from '../transport/certs.js';

export interface KvMemberAddr {
  id: number;
  /** host:port of the HTTP API. */
  http: string;
  raft: string;
  /**
   * Not in the initial cluster: started with --join (empty, waiting to be added by a
   * `POST /members` on the leader); the initial members are not told about it.
   */
  join?: boolean;
}

export interface KvClusterOptions {
  dir: string;
  members: KvMemberAddr[];
  /** The command that runs main, e.g. [node, 'dist/raft/kv/main.js']. */
  command: string[];
  prefix?: (id: number) => string[];
  /** Extra flags for every member (--tick-ms ...). */
  args?: string[];
  cwd?: string;
}

/** A free TCP port on `host` (bind to 0, read it, close). */
export async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export class KvCluster {
  readonly procs = new Map<number, ChildProcess>();
  readonly pki: Map<number, MemberFiles>;
  readonly logs = new Map<number, string>();

  constructor(readonly opts: KvClusterOptions) {
    mkdirSync(join(opts.dir, 'pki'), { recursive: true });
    this.pki = makeClusterPki(join(opts.dir, 'pki'), opts.members.map((m) => m.id));
  }

  /** The --peers of member `id`: the initial members, and itself when it joins later. */
  peersFlag(id?: number): string {
    return this.opts.members
      .filter((m) => m.join !== true || m.id === id)
      .map((m) => `${m.id}=${m.http}/${m.raft}`)
      .join(',');
  }

  member(id: number): KvMemberAddr {
    const m = this.opts.members.find((x) => x.id === id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  /** Starts member `id` (from its data dir if it has state) and waits until it listens. */
  async start(id: number): Promise<ChildProcess> {
    const m = this.member(id);
    const f = this.pki.get(id) as MemberFiles;
    const [cmd, ...rest] = [...(this.opts.prefix?.(id) ?? []), ...this.opts.command];
    const args = [...rest, '--id', String(id), '--data', join(this.opts.dir, `data-${id}`), '--listen', m.http, '--peers', this.peersFlag(id),
      '--ca', f.ca, '--cert', f.cert, '--key', f.key, ...(m.join === true ? ['--join'] : []), ...(this.opts.args ?? [])];
    const p = spawn(cmd as string, args, { cwd: this.opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.set(id, p);
    let log = '';
    p.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      this.logs.set(id, log.slice(-4000));
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const onExit = (code: number | null): void => reject(new Error(`kv member ${id} exited (${code}) before it was ready: ${log}`));
      p.once('exit', onExit);
      p.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('"ready":true')) {
          p.off('exit', onExit);
          resolve();
        }
      });
    });
    return p;
  }

  /** Sends `signal` and waits for the process to be gone. */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
    const p = this.procs.get(id);
    if (p === undefined) return undefined;
    this.procs.delete(id);
    if (p.exitCode !== null || p.signalCode !== null) return { code: p.exitCode, signal: p.signalCode };
    const gone = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      p.once('exit', (code, sig) => resolve({ code, signal: sig })),
    );
    p.kill(signal);
    return gone;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((id) => this.kill(id, 'SIGKILL')));
  }

  /** Pids of the members still running (for teardown checks). */
  pids(): number[] {
    return [...this.procs.values()].map((p) => p.pid ?? 0);
  }
}
