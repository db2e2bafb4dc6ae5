/**
 * Drives any OCI runtime binary (the bundled tsc-runtime, runc, crun) through the OCI command
 * line. Results are typed; failures are TscErrors carrying the runtime's own message, read from
 * its `--log` file in JSON format (stderr may belong to the container, so it is not used).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { TscError } from '../../lib/errors.js';
import { ProgramNotStarted, runProgram } from '../../lib/run-program.js';
import type { Resources } from './spec.js';

export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** `state` as runtimes print it; exitStatus/oomKilled only from the bundled runtime. */
export interface ContainerState {
  ociVersion: string;
  id: string;
  pid: number;
  status: ContainerStatus;
  bundle: string;
  rootfs?: string;
  created?: string;
  annotations?: Record<string, string>;
  exitStatus?: number;
  oomKilled?: boolean;
}

/** What the container's stdio is connected to: an open fd, or nothing. */
export type Stdio = number | 'ignore';

export interface CreateOptions {
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  stdin?: Stdio;
  stdout?: Stdio;
  stderr?: Stdio;
}

export interface ExecOptions {
  env?: string[];
  cwd?: string;
  /** `uid[:gid]` */
  user?: string;
  detach?: boolean;
  /** A terminal for the process, relayed through the runtime's own stdio. */
  tty?: boolean;
  /** An OCI process JSON file (`--process`): the whole process, the other fields then unused. */
  process?: string;
  stdin?: Stdio;
  stdout?: Stdio;
  stderr?: Stdio;
}

/** `events --stats`, the part both runc and tsc-runtime print. */
export interface ContainerStats {
  cpu: { usage: { total: number } };
  memory: { usage: { usage: number; limit: number; max?: number; failcnt?: number }; cache?: number };
  pids: { current: number; limit?: number };
  blkio?: { io_service_bytes_recursive?: { major: number; minor: number; op: string; value: number }[] | null };
}

export interface RuntimeClientOptions {
  /** Path of the runtime binary. */
  binary: string;
  /** The runtime's `--root` (its state directory). */
  root: string;
}

export interface RuntimeClient {
  readonly binary: string;
  create(id: string, opts: CreateOptions): Promise<void>;
  start(id: string): Promise<void>;
  /** `run` in the foreground: resolves with the container's exit code. */
  run(id: string, opts: CreateOptions): Promise<number>;
  /** `run --detach`: create and start in one command; resolves once the process runs. */
  runDetached(id: string, opts: CreateOptions): Promise<void>;
  state(id: string): Promise<ContainerState>;
  /** A new process in a running container; resolves with its exit code (0 when detached). */
  exec(id: string, args: string[], opts?: ExecOptions): Promise<number>;
  kill(id: string, signal?: string, opts?: { all?: boolean }): Promise<void>;
  /** Resource use read back from the cgroups. */
  stats(id: string): Promise<ContainerStats>;
  /** Changes the resources of a running container (linux.resources format). */
  update(id: string, resources: Resources): Promise<void>;
  delete(id: string, opts?: { force?: boolean }): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Polls `state` until the container has stopped (or the deadline passes). */
  waitStopped(id: string, timeoutMs?: number): Promise<ContainerState>;
}

interface Outcome {
  code: number;
  stdout: string;
  message: string;
}

/** The last error message of a runtime log (runc's JSON lines, or plain text). */
export function runtimeMessage(log: string, stderr = ''): string {
  let msg = '';
  for (const line of log.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if (entry.level === 'error' && typeof entry.msg === 'string') msg = entry.msg;
    } catch {
      msg = line;
    }
  }
  if (msg === '') msg = stderr.trim().split('\n').pop() ?? '';
  return msg.replace(/^(runc|crun|tsc-runtime)( \w+ failed)?: /, '').trim();
}

export function createRuntimeClient(opts: RuntimeClientOptions): RuntimeClient {
  const { binary, root } = opts;

  async function exec(args: string[], stdio: [Stdio, Stdio | 'pipe', Stdio | 'pipe'] = ['ignore', 'pipe', 'pipe']): Promise<Outcome> {
    const log = join(tmpdir(), `tsc-runtime-client-${randomUUID()}.log`);
    const argv = ['--root', root, '--log', log, '--log-format', 'json', ...args];
    try {
      // No file descriptor to hand over: through the spawn helper (no fork of the agent).
      const piped = stdio[0] === 'ignore' && stdio[1] === 'pipe' && stdio[2] === 'pipe';
      if (piped || (stdio[0] === 'ignore' && stdio[1] === 'ignore' && stdio[2] === 'ignore')) {
        try {
          const r = await runProgram([binary, ...argv], { ignoreStdio: !piped });
          // The message is for a failure only: a success reads no log (one file fewer per command).
          const message = r.code === 0 ? '' : runtimeMessage(await readFile(log, 'utf8').catch(() => ''), r.stderr.toString());
          return { code: r.code, stdout: r.stdout.toString(), message };
        } catch (e) {
          if (!(e instanceof ProgramNotStarted)) throw e;
          throw new TscError('ERR_NOT_FOUND', `container runtime ${binary} not found or not executable`, { cause: e, hint: 'install it, or name another runtime' });
        }
      }
      return await new Promise<Outcome>((resolve, reject) => {
        const child = spawn(binary, argv, { stdio });
        let stdout = '';
        let stderr = '';
        child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', (e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT' || e.code === 'EACCES') {
            reject(new TscError('ERR_NOT_FOUND', `container runtime ${binary} not found or not executable`, { cause: e, hint: 'install it, or name another runtime' }));
          } else reject(e);
        });
        child.on('close', (code, signal) => {
          void readFile(log, 'utf8')
            .catch(() => '')
            .then((text) => resolve({ code: code ?? 128 + (signal ? 9 : 0), stdout, message: runtimeMessage(text, stderr) }));
        });
      });
    } finally {
      await rm(log, { force: true });
    }
  }

  function fail(what: string, id: string, out: Outcome): TscError {
    const msg = out.message || `exit status ${out.code}`;
    const code = /does not exist|not found|no such container/i.test(msg) && what !== 'create' && what !== 'run' ? 'ERR_NOT_FOUND' : 'ERR_RUNTIME';
    return new TscError(code, `${what} container ${id}: ${msg}`);
  }

  async function simple(what: string, id: string, args: string[]): Promise<Outcome> {
    const out = await exec(args);
    if (out.code !== 0) throw fail(what, id, out);
    return out;
  }

  function createArgs(id: string, o: CreateOptions): string[] {
    const args = ['--bundle', o.bundle];
    if (o.pidFile !== undefined) args.push('--pid-file', o.pidFile);
    if (o.consoleSocket !== undefined) args.push('--console-socket', o.consoleSocket);
    return [...args, id];
  }

  const client: RuntimeClient = {
    binary,
    async create(id, o) {
      // The container inherits create's stdio: never a pipe, or create's caller would wait on it.
      const out = await exec(['create', ...createArgs(id, o)], [o.stdin ?? 'ignore', o.stdout ?? 'ignore', o.stderr ?? 'ignore']);
      if (out.code !== 0) throw fail('create', id, out);
    },
    async start(id) {
      await simple('start', id, ['start', id]);
    },
    async run(id, o) {
      const out = await exec(['run', ...createArgs(id, o)], [o.stdin ?? 'ignore', o.stdout ?? 'ignore', o.stderr ?? 'ignore']);
      if (out.code !== 0 && out.message !== '') throw fail('run', id, out);
      return out.code;
    },
    async runDetached(id, o) {
      const out = await exec(['run', '--detach', ...createArgs(id, o)], [o.stdin ?? 'ignore', o.stdout ?? 'ignore', o.stderr ?? 'ignore']);
      if (out.code !== 0) throw fail('run', id, out);
    },
    async state(id) {
      const out = await simple('state', id, ['state', id]);
      try {
        return JSON.parse(out.stdout) as ContainerState;
      } catch (cause) {
        throw new TscError('ERR_RUNTIME', `state container ${id}: ${binary} printed no JSON: ${out.stdout.slice(0, 200)}`, { cause });
      }
    },
    async exec(id, args, eo = {}) {
      const flags: string[] = [];
      for (const e of eo.env ?? []) flags.push('--env', e);
      if (eo.cwd !== undefined) flags.push('--cwd', eo.cwd);
      if (eo.user !== undefined) flags.push('--user', eo.user);
      if (eo.detach === true) flags.push('--detach');
      if (eo.tty === true) flags.push('--tty');
      if (eo.process !== undefined) flags.push('--process', eo.process);
      const out = await exec(['exec', ...flags, id, ...args], [eo.stdin ?? 'ignore', eo.stdout ?? 'ignore', eo.stderr ?? 'ignore']);
      if (out.code !== 0 && out.message !== '') throw fail('exec in', id, out);
      return out.code;
    },
    async kill(id, signal = 'SIGTERM', ko = {}) {
      await simple('kill', id, ['kill', ...(ko.all === true ? ['--all'] : []), id, signal]);
    },
    async delete(id, dopts = {}) {
      await simple('delete', id, ['delete', ...(dopts.force === true ? ['--force'] : []), id]);
    },
    async stats(id) {
      const out = await simple('stats of', id, ['events', '--stats', id]);
      try {
        return (JSON.parse(out.stdout) as { data: ContainerStats }).data;
      } catch (cause) {
        throw new TscError('ERR_RUNTIME', `stats of container ${id}: ${binary} printed no JSON: ${out.stdout.slice(0, 200)}`, { cause });
      }
    },
    async update(id, resources) {
      const file = join(tmpdir(), `tsc-runtime-resources-${randomUUID()}.json`);
      await writeFile(file, JSON.stringify(resources));
      try {
        await simple('update', id, ['update', '--resources', file, id]);
      } finally {
        await rm(file, { force: true });
      }
    },
    async pause(id) {
      await simple('pause', id, ['pause', id]);
    },
    async resume(id) {
      await simple('resume', id, ['resume', id]);
    },
    async waitStopped(id, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const st = await client.state(id);
        if (st.status === 'stopped') return st;
        if (Date.now() > deadline) throw new TscError('ERR_RUNTIME', `container ${id} still ${st.status} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
  return client;
}
