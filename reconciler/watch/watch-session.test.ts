/**
 * The watch shell against real files and real inotify (chokidar) in a temp dir, with the
 * agent faked at its API edge: what reaches the agent, in what order, and what the user reads.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { AgentApi, AgentEvent, ContainerSummary, FileSync, SyncFilesOptions } from '../../agent/api/types.js';
import type { Project } from '../../schema/project.js';
import { compileWatchRules } from './watch-rules.js';
import { startWatchSession, type WatchSession } from './watch-session.js';

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

type Call = { op: 'sync'; id: string; files: FileSync[]; opts: SyncFilesOptions | undefined } | { op: 'restart'; id: string } | { op: 'exec'; id: string; cmd: string[] };
const ops = (calls: readonly Call[]) => calls.map((c) => (c.op === 'restart' ? `restart ${c.id}` : c.op)).join(' ');

function fakeAgent(calls: Call[]) {
  const container: ContainerSummary = {
    id: 'c1',
    name: 'p-web-1',
    image: 'busybox',
    labels: { 'com.docker.compose.project': 'p', 'com.docker.compose.service': 'web' },
    state: 'running',
    status: 'Up',
    health: 'none',
    exitCode: 0,
    createdAt: '',
    ports: [],
    networks: [],
  };
  const worker: ContainerSummary = { ...container, id: 'c2', name: 'p-worker-1', labels: { ...container.labels, 'com.docker.compose.service': 'worker' } };
  const queue: AgentEvent[] = [];
  let wake: (() => void) | undefined;
  const api: Partial<AgentApi> = {
    listContainers: async (f) => {
      const service = f?.label?.find((l) => l.startsWith('com.docker.compose.service='))?.split('=')[1];
      return [container, worker].filter((c) => service === undefined || c.labels['com.docker.compose.service'] === service);
    },
    syncFiles: async (id, files, opts) => {
      calls.push({ op: 'sync', id, files, opts });
      return { written: files.length, deleted: 0, unchanged: 0 };
    },
    restartContainer: async (id) => void calls.push({ op: 'restart', id }),
    exec: async (id, o) => {
      calls.push({ op: 'exec', id, cmd: o.cmd });
      return { exitCode: 0, stdout: 'reloaded\n', stderr: '' };
    },
    events: (filter) =>
      (async function* () {
        for (;;) {
          while (queue.length > 0) yield queue.shift() as AgentEvent;
          if (filter?.signal?.aborted === true) return;
          await new Promise<void>((r) => {
            wake = r;
            filter?.signal?.addEventListener('abort', () => r(), { once: true });
          });
        }
      })(),
  };
  const emitStart = () => {
    queue.push({ type: 'container', action: 'start', id: 'c1', attributes: container.labels, time: '' });
    wake?.();
  };
  return { api: api as AgentApi, emitStart };
}

describe('watch session', () => {
  let dir: string;
  let session: WatchSession | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsc-watch-session-'));
    await mkdir(join(dir, 'src/sub'), { recursive: true });
    await mkdir(join(dir, 'config'));
    await writeFile(join(dir, 'src/index.html'), 'v1');
    await writeFile(join(dir, 'src/sub/a.txt'), 'a');
    await writeFile(join(dir, 'src/skip.tmp'), 'no');
    await writeFile(join(dir, 'package.json'), '{}');
  });
  afterEach(async () => {
    await session?.close();
    session = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  function project(): Project {
    return {
      name: 'p',
      workingDir: dir,
      services: {
        web: {
          build: { context: dir },
          develop: {
            watch: [
              { path: join(dir, 'src'), target: '/var/www', action: 'sync', ignore: ['*.tmp'], initial_sync: true },
              { path: join(dir, 'config'), target: '/etc/web', action: 'sync+exec', exec: { command: ['kill', '-HUP', '1'] } },
              { path: join(dir, 'config/restart.conf'), target: '/etc/web/restart.conf', action: 'sync+restart' },
              { path: join(dir, 'package.json'), action: 'rebuild' },
            ],
          },
        },
        worker: { image: 'busybox', depends_on: { web: { condition: 'service_started', required: true, restart: true } } },
        other: { image: 'busybox', depends_on: { web: { condition: 'service_started', required: true } } },
      },
    } as unknown as Project;
  }

  it('syncs initially, then each change; restarts, execs and rebuilds as the rules say; re-syncs on start', async () => {
    const calls: Call[] = [];
    const lines: string[] = [];
    const rebuilt: string[] = [];
    let pruned = 0;
    const { api, emitStart } = fakeAgent(calls);
    const { rules, restartWith } = compileWatchRules(project(), { readDockerignore: () => undefined });
    expect(restartWith).toEqual({ web: ['worker'] });
    session = startWatchSession({
      agent: api,
      project: 'p',
      rules,
      restartWith,
      log: (l) => lines.push(l),
      rebuild: async (s) => void rebuilt.push(s),
      prune: async () => void pruned++,
    });
    await session.ready;
    expect(calls).toEqual([
      {
        op: 'sync',
        id: 'c1',
        files: [
          { source: join(dir, 'src'), target: '/var/www' },
          { source: join(dir, 'src/index.html'), target: '/var/www/index.html' },
          { source: join(dir, 'src/sub'), target: '/var/www/sub' },
          { source: join(dir, 'src/sub/a.txt'), target: '/var/www/sub/a.txt' },
        ],
        opts: { skipUnchanged: true },
      },
    ]);
    expect(lines.at(-1)).toBe('Watch enabled');
    calls.length = 0;

    await writeFile(join(dir, 'src/index.html'), 'v2');
    await until('the edit synced', () => calls.length > 0);
    await session.idle();
    expect(calls[0]).toEqual({ op: 'sync', id: 'c1', files: [{ source: join(dir, 'src/index.html'), target: '/var/www/index.html' }], opts: { skipUnchanged: false } });
    expect(lines).toContain('Syncing service "web" after 1 changes were detected');
    calls.length = 0;

    await writeFile(join(dir, 'config/app.conf'), 'x');
    await until('the hook', () => calls.some((c) => c.op === 'exec'));
    await session.idle();
    // A loaded machine may split one write into two batches: each is a sync, then the hook.
    expect(ops(calls)).toMatch(/^(sync exec ?)+$/);
    expect(lines).toContain('reloaded');
    calls.length = 0;

    await writeFile(join(dir, 'config/restart.conf'), 'y');
    await until('the restart', () => calls.some((c) => c.op === 'restart'));
    await session.idle();
    // Both rules take the file: per batch one sync (not one per rule), the restart, the worker
    // that depends on web with `restart: true`, then the hook.
    expect(ops(calls)).toMatch(/^(sync restart c1 restart c2 exec ?)+$/);
    expect(lines).toContain('service "web" restarted');
    calls.length = 0;

    await writeFile(join(dir, 'package.json'), '{"v":2}');
    await until('the rebuild', () => rebuilt.length > 0);
    await session.idle();
    expect(new Set(rebuilt)).toEqual(new Set(['web']));
    expect(pruned).toBe(rebuilt.length);
    // Only what follows web is restarted after its rebuild (web's own recreate is the hook's).
    expect(ops(calls)).toMatch(/^(restart c2 ?)+$/);
    expect(lines).toContain('Rebuilding service(s) ["web"] after changes were detected...');

    calls.length = 0;
    emitStart();
    await until('the re-sync after start', () => calls.length > 0);
    expect(calls[0]).toMatchObject({ op: 'sync', opts: { skipUnchanged: true } });
    expect((calls[0] as { files: FileSync[] }).files.map((f) => f.target)).toEqual(['/var/www', '/var/www/index.html', '/var/www/sub', '/var/www/sub/a.txt', '/etc/web', '/etc/web/app.conf', '/etc/web/restart.conf']);

    await session.close();
    await session.done;
  });
});
