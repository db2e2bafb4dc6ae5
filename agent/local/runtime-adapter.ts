/**
 * `ContainerRuntime` (backends.ts) over any OCI runtime binary through its command line. The
 * bundled `tsc-runtime` also gives what the agent relies on beyond the OCI commands: a monitor
 * per container that writes its logs (json-file) and, when it exits, `<root>/<id>/exit.json`
 * with the exit code and OOM flag. `waitExit` watches for that file (inotify, a slow poll
 * behind it) instead of spawning `state` in a loop, so many containers cost little.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { constants as osConstants, tmpdir } from 'node:os';
import { Writable, type Readable } from 'node:stream';
import { join } from 'node:path';

import { TscError } from '../../lib/errors.js';
import type { ContainerRuntime, ExitStatus, RuntimeStatus } from '../backends.js';
import { resolveUser } from '../resolve-user.js';
import { ALL_CAPABILITIES } from '../runtime/capabilities.js';
import { attachStdin, attachTerminal, resizeTerminal } from '../runtime/monitor-client.js';
import { createRuntimeClient } from '../runtime/runtime-client.js';
import { parseProcStat } from './proc-top.js';

export interface RuntimeAdapterOptions {
  binary: string;
  /** The runtime's `--root`. */
  root: string;
  /** How often an exit is looked for. */
  pollMs?: number;
}

interface ExitFile {
  exitCode: number;
  signal?: number;
  oomKilled?: boolean;
  finishedAt?: string;
}

export function createRuntimeAdapter(opts: RuntimeAdapterOptions): ContainerRuntime {
  const client = createRuntimeClient({ binary: opts.binary, root: opts.root });
  const pollMs = opts.pollMs ?? 100;
  const exitFile = (id: string) => join(opts.root, id, 'exit.json');

  /**
   * The first process of each container this adapter started, with its start time (field 22 of
   * /proc/PID/stat), so that a signal can be sent without starting the runtime (~10 ms a stop):
   * only while no exit is recorded and that process, not a later one with its pid, is alive,
   * which is what the runtime's `kill` checks before the same kill(2). Anything else (a
   * container from before an agent restart, `--all`) goes through the runtime.
   */
  const firstProcess = new Map<string, { pid: number; startTime: number }>();

  async function remember(id: string, pid: number): Promise<{ pid: number }> {
    const startTime = await processStartTime(pid);
    if (startTime !== undefined) firstProcess.set(id, { pid, startTime });
    return { pid };
  }

  async function signalDirectly(id: string, signal: string | undefined): Promise<boolean> {
    const known = firstProcess.get(id);
    const number = signalNumber(signal ?? 'SIGTERM');
    if (known === undefined || number === undefined) return false;
    const [exited, startTime] = await Promise.all([
      stat(exitFile(id)).then(
        () => true,
        () => false,
      ),
      processStartTime(known.pid),
    ]);
    if (exited || startTime !== known.startTime) return false;
    try {
      process.kill(known.pid, number);
      return true;
    } catch {
      return false;
    }
  }

  async function readExit(id: string): Promise<ExitStatus | undefined> {
    let text: string;
    try {
      text = await readFile(exitFile(id), 'utf8');
    } catch {
      return undefined;
    }
    const e = JSON.parse(text) as ExitFile;
    return { exitCode: e.exitCode, oomKilled: e.oomKilled === true, finishedAt: e.finishedAt ?? new Date().toISOString() };
  }

  /** The container's config.json, found through the runtime's state (its bundle). */
  async function bundleConfig(id: string): Promise<OciConfig> {
    const st = await client.state(id);
    return JSON.parse(await readFile(join(st.bundle, 'config.json'), 'utf8')) as OciConfig;
  }

  /** `exec -u name[:group]` as `uid:gid`, looked up in the container's own /etc/passwd and /etc/group. */
  async function numericUser(config: OciConfig, user: string): Promise<string> {
    const root = config.root?.path ?? '';
    const read = (f: string) => readFile(join(root, f), 'utf8').catch(() => '');
    const u = resolveUser(user, [], await read('etc/passwd'), await read('etc/group'));
    return `${u.uid}:${u.gid}`;
  }

  return {
    name: opts.binary.split('/').pop() ?? opts.binary,
    async create(id, bundle) {
      // The pid from --pid-file (written before create returns): one process fewer than `state`.
      const pidFile = join(bundle, 'init.pid');
      await client.create(id, { bundle, pidFile });
      const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
      return remember(id, Number.isInteger(pid) && pid > 0 ? pid : (await client.state(id)).pid);
    },
    start: (id) => client.start(id),
    async run(id, bundle) {
      // One runtime command instead of create + start: one program start fewer per container.
      const pidFile = join(bundle, 'init.pid');
      await client.runDetached(id, { bundle, pidFile });
      const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
      return remember(id, Number.isInteger(pid) && pid > 0 ? pid : (await client.state(id)).pid);
    },
    async state(id) {
      try {
        const st = await client.state(id);
        return { status: st.status as RuntimeStatus, pid: st.pid };
      } catch (e) {
        if (e instanceof TscError && e.code === 'ERR_NOT_FOUND') return undefined;
        throw e;
      }
    },
    async kill(id, signal) {
      if (!(await signalDirectly(id, signal))) await client.kill(id, signal);
    },
    pause: (id) => client.pause(id),
    resume: (id) => client.resume(id),
    async delete(id, o = {}) {
      firstProcess.delete(id);
      try {
        await client.delete(id, o);
      } catch (e) {
        if (!(e instanceof TscError && e.code === 'ERR_NOT_FOUND')) throw e;
      }
    },
    async exec(id, proc) {
      const dir = await mkdtemp(join(tmpdir(), 'tsc-exec-'));
      const outPath = join(dir, 'out');
      const errPath = join(dir, 'err');
      const out = openSync(outPath, 'w');
      const err = openSync(errPath, 'w');
      try {
        const config = proc.privileged === true || (proc.user !== undefined && !/^\d+(:\d+)?$/.test(proc.user)) ? await bundleConfig(id) : undefined;
        const user = proc.user === undefined || config === undefined ? proc.user : await numericUser(config, proc.user);
        let processFile: string | undefined;
        if (proc.privileged === true && config !== undefined) {
          processFile = join(dir, 'process.json');
          await writeFile(processFile, JSON.stringify(privilegedProcess(config, { ...proc, ...(user === undefined ? {} : { user }) })));
        }
        const exitCode = await client.exec(id, proc.args, {
          ...(proc.env === undefined ? {} : { env: proc.env }),
          ...(proc.cwd === undefined ? {} : { cwd: proc.cwd }),
          ...(user === undefined ? {} : { user }),
          ...(processFile === undefined ? {} : { process: processFile }),
          stdout: out,
          stderr: err,
        });
        return { exitCode, stdout: await readFile(outPath, 'utf8'), stderr: await readFile(errPath, 'utf8') };
      } finally {
        closeSync(out);
        closeSync(err);
        await rm(dir, { recursive: true, force: true });
      }
    },
    async execAttach(id, proc) {
      const user = proc.user === undefined || /^\d+(:\d+)?$/.test(proc.user) ? proc.user : await numericUser(await bundleConfig(id), proc.user);
      const flags: string[] = [];
      for (const e of proc.env ?? []) flags.push('--env', e);
      if (proc.cwd !== undefined) flags.push('--cwd', proc.cwd);
      if (user !== undefined) flags.push('--user', user);
      // With a terminal, fd 3 takes "ROWS COLS" lines: pipes have no size to lend it.
      if (proc.tty === true) flags.push('--tty', '--tty-size-fd', '3');
      if (proc.tty === true && proc.rows !== undefined && proc.cols !== undefined && proc.rows > 0 && proc.cols > 0) flags.push('--tty-size', `${proc.rows},${proc.cols}`);
      // The runtime's own stdio carries the process's (a terminal's, with --tty): no files between.
      const child = spawn(opts.binary, ['--root', opts.root, 'exec', ...flags, id, ...proc.args], {
        stdio: [proc.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', proc.tty === true ? 'pipe' : 'ignore'],
      });
      const sizes = child.stdio[3] as Writable | null;
      sizes?.on('error', () => undefined);
      const resize = (rows: number, cols: number) => {
        if (sizes !== null && Number.isInteger(rows) && Number.isInteger(cols) && rows > 0 && cols > 0) sizes.write(`${rows} ${cols}\n`);
      };
      const exit = new Promise<number>((resolve, reject) => {
        child.once('error', (e) => reject(new TscError('ERR_RUNTIME', `exec in container ${id}: ${e.message}`, { cause: e })));
        child.once('close', (code, signal) => resolve(code ?? 128 + (signal === null ? 0 : (osConstants.signals[signal] ?? 0))));
      });
      const stdin = child.stdin ?? new Writable({ write: (_c, _e, cb) => cb() });
      stdin.on('error', () => undefined);
      void exit.finally(() => sizes?.end()).catch(() => undefined);
      return { stdin, stdout: child.stdout as Readable, stderr: child.stderr as Readable, exit, resize };
    },
    attachStdin: (id) => attachStdin({ root: opts.root, id }),
    attachTerminal: (id, o) => attachTerminal({ root: opts.root, id }, o),
    resizeTerminal: (id, rows, cols) => resizeTerminal({ root: opts.root, id }, rows, cols),
    async waitExit(id) {
      // The monitor renames exit.json into place: an inotify watch on the container's state
      // directory sees it at once (a `down` must not wait out a poll period per container);
      // the poll stays as the fallback when no watch can be made or an event is missed.
      let dirty = false;
      let wake: (() => void) | undefined;
      let watcher: FSWatcher | undefined;
      try {
        watcher = watch(join(opts.root, id), { persistent: false }, () => {
          dirty = true;
          wake?.();
        });
        watcher.on('error', () => undefined);
      } catch {
        watcher = undefined;
      }
      try {
        for (;;) {
          dirty = false;
          const done = await readExit(id);
          if (done !== undefined) return done;
          // A container whose state is gone altogether cannot report an exit any more.
          const present = await stat(join(opts.root, id)).then(
            () => true,
            () => false,
          );
          if (!present) throw new TscError('ERR_RUNTIME', `container ${id} is gone from ${opts.root} without an exit status`);
          if (dirty) continue;
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, watcher === undefined ? pollMs : Math.max(pollMs, 1000));
            wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
          wake = undefined;
        }
      } finally {
        watcher?.close();
      }
    },
  };
}

/** When the process holding `pid` now started (clock ticks after boot): which process it is. */
async function processStartTime(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat === undefined ? undefined : parseProcStat(stat).starttime;
}

/** A signal's number from `SIGTERM`, `TERM` or `15`, as the runtime's `kill` reads it. */
export function signalNumber(signal: string): number | undefined {
  if (/^\d+$/.test(signal)) return Number(signal) > 0 && Number(signal) < 65 ? Number(signal) : undefined;
  const name = signal.toUpperCase();
  const signals = osConstants.signals as Record<string, number | undefined>;
  return signals[name.startsWith('SIG') ? name : `SIG${name}`];
}

interface OciConfig {
  root?: { path?: string };
  process?: Record<string, unknown> & { env?: string[]; cwd?: string };
}

/**
 * `exec --privileged` as Docker does it: the container's process with every capability (the
 * runtime takes a whole process through `--process`, so args, env, cwd and user go in it too).
 * "Every" is every one this agent holds itself (`held`, a bit mask): no more can be given.
 */
export function privilegedProcess(
  config: OciConfig,
  proc: { args: string[]; env?: string[]; cwd?: string; user?: string },
  held: bigint = boundingSet(),
): Record<string, unknown> {
  const base = config.process ?? {};
  const caps = ALL_CAPABILITIES.filter((_, bit) => (held & (1n << BigInt(bit))) !== 0n);
  const [uid, gid] = (proc.user ?? '').split(':');
  return {
    ...base,
    terminal: false,
    args: proc.args,
    env: [...(base.env ?? []), ...(proc.env ?? [])],
    cwd: proc.cwd ?? base.cwd ?? '/',
    ...(proc.user === undefined ? {} : { user: { uid: Number(uid), gid: Number(gid ?? 0) } }),
    capabilities: { bounding: caps, effective: caps, permitted: caps },
  };
}

/** This process's capability bounding set, from /proc/self/status. */
function boundingSet(): bigint {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m?.[1] === undefined ? 0n : BigInt(`0x${m[1]}`);
}
