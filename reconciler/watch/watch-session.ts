/**
 * The I/O shell of Compose Watch: chokidar events → the batcher → `planBatch` → the agent
 * (`syncFiles`, `restartContainer`, `exec`) or the rebuild hook the caller gives. One batch at
 * a time; events that arrive meanwhile make the next batch.
 *
 * Two things chokidar does not give, added here:
 * - chokidar drops a second `change` of a path within 50 ms of the first (its throttle): a save
 *   landing just after our read would be late or lost. Its unthrottled raw events feed the
 *   batcher too, and as a safety net every synced file is stat'ed again once that window has
 *   passed, and re-queued if it changed since it was read.
 * - A sync survives the container: each `start` of a watched service's container (a restart,
 *   a recreate after `rebuild` or `up`) re-syncs every sync rule's whole path into it, files
 *   whose size, mode and mtime match left alone.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { posix } from 'node:path';

import { watch, type FSWatcher } from 'chokidar';

import type { AgentApi, ContainerSummary, FileSync } from '../../agent/api/types.js';
import { LABEL, serviceFilter } from '../labels.js';
import { createChangeBatcher, DEFAULT_BATCHING, type BatcherOptions } from './change-batcher.js';
import { planBatch, type ChangedPath, type ServiceActions } from './plan-batch.js';
import { watcherError } from './watcher-error.js';
import { isSyncAction, ruleTakes, shouldWatchDir, type CompiledRule } from './watch-rules.js';

/** chokidar's change throttle, plus a margin. */
const RECHECK_AFTER_MS = 60;
/** Entries per syncFiles call on a full re-sync. */
const SYNC_CHUNK = 2000;

export interface WatchSessionOptions {
  agent: AgentApi;
  /** The compose project name (container labels). */
  project: string;
  rules: readonly CompiledRule[];
  /** Services restarted after a service restarts or is rebuilt (compileWatchRules gives it). */
  restartWith?: Readonly<Record<string, readonly string[]>>;
  /** One line for the user (docker compose's wording). */
  log(line: string): void;
  /** Build the service's image and recreate its containers only (dependencies left running). */
  rebuild(service: string): Promise<void>;
  /** `--prune`: remove dangling images after a rebuild. */
  prune?: () => Promise<void>;
  batching?: BatcherOptions;
  signal?: AbortSignal;
}

export interface WatchSession {
  /** Resolves once the initial sync is done and the watcher is ready. */
  ready: Promise<void>;
  /** Resolves when the session ends (close or abort); rejects on a watcher failure. */
  done: Promise<void>;
  /** Resolves when no batch is pending or running (tests, benchmarks). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

async function readLimit(name: string): Promise<number | undefined> {
  const text = await readFile(`/proc/sys/${name}`, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : Number(text.trim());
}

/** Every entry below a sync rule's path that the rule takes, directories before their content. */
export async function collectTree(rule: CompiledRule): Promise<FileSync[]> {
  const out: FileSync[] = [];
  const visit = async (p: string, isDir: boolean): Promise<void> => {
    const took = ruleTakes(rule, p, isDir);
    if (took?.containerPath !== undefined) out.push({ source: p, target: took.containerPath });
    if (!isDir || !shouldWatchDir([rule], p)) return;
    const entries = await readdir(p, { withFileTypes: true }).catch(() => []);
    for (const e of entries) await visit(posix.join(p, e.name), e.isDirectory());
  };
  const st = await stat(rule.path).catch(() => undefined);
  if (st !== undefined) await visit(rule.path, st.isDirectory());
  return out;
}

export function startWatchSession(opts: WatchSessionOptions): WatchSession {
  const { agent, rules, log } = opts;
  const batcher = createChangeBatcher<ChangedPath>(opts.batching ?? DEFAULT_BATCHING);
  const syncServices = new Set(rules.filter((r) => isSyncAction(r.action)).map((r) => r.service));
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let pending = 0;
  let closed = false;
  let idleWaiters: Array<() => void> = [];
  const rechecks = new Set<NodeJS.Timeout>();
  const events = new AbortController();
  let finish!: () => void;
  let fail!: (e: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  // A failing session is reported through `done`; nobody awaiting it is not an unhandled error.
  done.catch(() => undefined);

  const settle = () => {
    if (pending === 0 && batcher.dueAt() === undefined && rechecks.size === 0) {
      const w = idleWaiters;
      idleWaiters = [];
      w.forEach((f) => f());
    }
  };

  const containersOf = async (service: string): Promise<ContainerSummary[]> =>
    (await agent.listContainers({ label: serviceFilter(opts.project, service) })).filter((c) => c.state === 'running');

  /** After chokidar's throttle window, re-queue a synced file that changed since it was read. */
  const recheck = (seen: ReadonlyMap<string, number>) => {
    const t = setTimeout(() => {
      rechecks.delete(t);
      void (async () => {
        for (const [path, mtime] of seen) {
          const now = await stat(path).catch(() => undefined);
          if (now !== undefined && now.mtimeMs !== mtime) enqueue({ path });
        }
        settle();
      })();
    }, RECHECK_AFTER_MS);
    rechecks.add(t);
  };

  async function syncInto(containers: readonly ContainerSummary[], files: readonly FileSync[], skipUnchanged: boolean): Promise<void> {
    for (let i = 0; i < files.length; i += SYNC_CHUNK) {
      const chunk = files.slice(i, i + SYNC_CHUNK);
      await Promise.all(containers.map((c) => agent.syncFiles(c.id, chunk, { skipUnchanged })));
    }
  }

  /** `depends_on: { <service>: { restart: true } }`: those services follow it. */
  async function restartFollowers(service: string): Promise<void> {
    for (const follower of opts.restartWith?.[service] ?? []) {
      const cs = await containersOf(follower);
      if (cs.length === 0) continue;
      log(`Restarting service "${follower}" (it depends on "${service}" with restart: true)`);
      await Promise.all(cs.map((c) => agent.restartContainer(c.id)));
    }
  }

  async function apply(a: ServiceActions): Promise<void> {
    if (a.rebuild) {
      log(`Rebuilding service(s) ["${a.service}"] after changes were detected...`);
      await opts.rebuild(a.service);
      log(`service(s) ["${a.service}"] successfully built`);
      await restartFollowers(a.service);
      if (opts.prune !== undefined) await opts.prune();
      return;
    }
    const containers = await containersOf(a.service);
    if (containers.length === 0) {
      log(`service "${a.service}" has no running container: ${a.changes} changes not applied`);
      return;
    }
    if (a.sync.length > 0) {
      log(`Syncing service "${a.service}" after ${a.changes} changes were detected`);
      const seen = new Map<string, number>();
      await Promise.all(
        a.sync.map(async (f) => {
          const st = await stat(f.source).catch(() => undefined);
          if (st?.isFile() === true) seen.set(f.source, st.mtimeMs);
        }),
      );
      await syncInto(containers, a.sync, false);
      if (seen.size > 0) recheck(seen);
    }
    if (a.restart) {
      log(`Restarting service "${a.service}" after changes were detected`);
      await Promise.all(containers.map((c) => agent.restartContainer(c.id)));
      log(`service "${a.service}" restarted`);
      await restartFollowers(a.service);
    }
    for (const hook of a.exec) {
      await Promise.all(
        containers.map(async (c) => {
          const env = Object.fromEntries(Object.entries(hook.environment ?? {}).filter((e): e is [string, string] => e[1] !== null));
          const r = await agent.exec(c.id, {
            cmd: hook.command,
            env,
            ...(hook.user === undefined ? {} : { user: hook.user }),
            ...(hook.working_dir === undefined ? {} : { workingDir: hook.working_dir }),
            ...(hook.privileged === undefined ? {} : { privileged: hook.privileged }),
          });
          if (r.stdout !== '') log(r.stdout.replace(/\n$/, ''));
          if (r.exitCode !== 0) log(`exec ${JSON.stringify(hook.command.join(' '))} in ${c.name} exited with code ${r.exitCode}${r.stderr === '' ? '' : `: ${r.stderr.trim()}`}`);
        }),
      );
    }
  }

  async function runBatch(batch: readonly ChangedPath[]): Promise<void> {
    for (const a of planBatch(rules, batch)) {
      try {
        await apply(a);
      } catch (e) {
        log(`Error applying changes to service "${a.service}": ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  const arm = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const due = batcher.dueAt();
    if (due === undefined || closed) return;
    timer = setTimeout(flush, Math.max(0, due - Date.now()));
  };

  function flush(): void {
    timer = undefined;
    const batch = batcher.take(Date.now());
    if (batch === undefined) return arm();
    pending++;
    running = running.then(() => runBatch(batch)).finally(() => {
      pending--;
      settle();
    });
  }

  function enqueue(c: ChangedPath): void {
    if (closed) return;
    batcher.add(c, Date.now());
    arm();
  }

  /** Re-sync every sync rule of the service into one container (after it started). */
  async function resync(container: ContainerSummary, service: string): Promise<void> {
    const all = (await Promise.all(rules.filter((r) => r.service === service && isSyncAction(r.action)).map(collectTree))).flat();
    // Two rules may cover one file (a directory rule and a file rule inside it): sync it once.
    const files = [...new Map(all.map((f) => [f.target, f])).values()];
    if (files.length > 0) await syncInto([container], files, true);
  }

  let watcher: FSWatcher | undefined;
  const ready = (async () => {
    for (const rule of rules.filter((r) => r.initialSync && isSyncAction(r.action))) {
      const containers = await containersOf(rule.service);
      const files = await collectTree(rule);
      if (containers.length > 0 && files.length > 0) {
        log(`Syncing service "${rule.service}" after ${files.length} changes were detected (initial sync of ${rule.path})`);
        await syncInto(containers, files, true);
      }
    }
    void followStarts();
    const roots = [...new Set(rules.map((r) => r.path))];
    // In a user namespace the lower of its own limit and the system's applies.
    const [sysWatches, nsWatches, maxUserInstances] = await Promise.all([
      readLimit('fs/inotify/max_user_watches'),
      readLimit('user/max_inotify_watches'),
      readLimit('fs/inotify/max_user_instances'),
    ]);
    const maxUserWatches = sysWatches === undefined ? nsWatches : nsWatches === undefined ? sysWatches : Math.min(sysWatches, nsWatches);
    const w = watch(roots, {
      ignoreInitial: true,
      // Deletions are not held back 100 ms to spot an editor's rename dance: the sync mirrors
      // what exists when it runs, so unlink + add of one path syncs the new file anyway.
      atomic: false,
      followSymlinks: false,
      ignored: (p, st) => st?.isDirectory() === true && !shouldWatchDir(rules, p),
    });
    watcher = w;
    w.on('all', (event, path) => {
      if (event === 'addDir' || event === 'unlinkDir') enqueue({ path, isDir: true });
      else if (event === 'add' || event === 'change' || event === 'unlink') enqueue({ path });
    });
    // chokidar's own `change` is throttled (a second one within 50 ms is dropped); its raw
    // inotify events are not. A raw change names the file relative to the watched directory,
    // or the file itself when the watch is on the file.
    w.on('raw', (event, evPath: string | null, details) => {
      const watched = (details as { watchedPath?: string } | undefined)?.watchedPath;
      if (event !== 'change' || watched === undefined || closed) return;
      const path = evPath === null || evPath === '' || posix.basename(watched) === evPath ? watched : posix.join(watched, evPath);
      enqueue({ path });
    });
    w.on('error', (err) => {
      const e = watcherError(err, { ...(maxUserWatches === undefined ? {} : { maxUserWatches }), ...(maxUserInstances === undefined ? {} : { maxUserInstances }) });
      // Rejected first: close() would otherwise settle `done` as a normal end.
      fail(e);
      void session.close();
    });
    // A watcher that fails while it scans (inotify limits) never becomes ready: `done` says why.
    await Promise.race([new Promise<void>((resolve) => w.once('ready', () => resolve())), done]);
    if (!closed) log('Watch enabled');
  })();
  ready.catch((e: unknown) => {
    fail(e);
    void session.close();
  });

  async function followStarts(): Promise<void> {
    if (syncServices.size === 0) return;
    try {
      for await (const ev of agent.events({ label: [`${LABEL.project}=${opts.project}`], signal: events.signal })) {
        const service = ev.attributes[LABEL.service];
        if (ev.type !== 'container' || ev.action !== 'start' || service === undefined || !syncServices.has(service)) continue;
        const c = (await containersOf(service)).find((x) => x.id === ev.id);
        if (c === undefined) continue;
        pending++;
        running = running
          .then(() => resync(c, service))
          .catch((e: unknown) => log(`Error re-syncing ${c.name} after its start: ${e instanceof Error ? e.message : String(e)}`))
          .finally(() => {
            pending--;
            settle();
          });
      }
    } catch (e) {
      if (!closed) log(`Event stream ended: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  const onAbort = () => void session.close();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const session: WatchSession = {
    ready,
    done,
    idle: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        settle();
      }),
    async close() {
      if (closed) return;
      closed = true;
      opts.signal?.removeEventListener('abort', onAbort);
      if (timer !== undefined) clearTimeout(timer);
      for (const t of rechecks) clearTimeout(t);
      rechecks.clear();
      events.abort();
      await watcher?.close();
      await running.catch(() => undefined);
      finish();
    },
  };
  return session;
}

