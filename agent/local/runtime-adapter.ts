/**
 * `ContainerRuntime` (backends.ts) over any OCI runtime binary through its command line. The
 * bundled `tsc-runtime` also gives what the agent relies on beyond the OCI commands: a monitor
 * per container that writes its logs (json-file) and, when it exits, `<root>/<id>/exit.json`
 * with the exit code and OOM flag. `waitExit` watches for that file (inotify, a slow poll
 * behind it) instead of spawning `state` in a loop, so many containers cost little.
 */
import { closeSync, openSync, watch, type FSWatcher } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { TscError } from '../../lib/errors.js';
import type { ContainerRuntime, ExitStatus, RuntimeStatus } from '../backends.js';
import { createRuntimeClient } from '../runtime/runtime-client.js';

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

  return {
    name: opts.binary.split('/').pop() ?? opts.binary,
    async create(id, bundle) {
      // The pid from --pid-file (written before create returns): one process fewer than `state`.
      const pidFile = join(bundle, 'init.pid');
      await client.create(id, { bundle, pidFile });
      const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0) return { pid };
      return { pid: (await client.state(id)).pid };
    },
    start: (id) => client.start(id),
    async state(id) {
      try {
        const st = await client.state(id);
        return { status: st.status as RuntimeStatus, pid: st.pid };
      } catch (e) {
        if (e instanceof TscError && e.code === 'ERR_NOT_FOUND') return undefined;
        throw e;
      }
    },
    kill: (id, signal) => client.kill(id, signal),
    pause: (id) => client.pause(id),
    resume: (id) => client.resume(id),
    async delete(id, o = {}) {
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
        const exitCode = await client.exec(id, proc.args, {
          ...(proc.env === undefined ? {} : { env: proc.env }),
          ...(proc.cwd === undefined ? {} : { cwd: proc.cwd }),
          ...(proc.user === undefined ? {} : { user: proc.user }),
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
