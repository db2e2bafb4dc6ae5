/**
 * Compose Watch end to end, as a user runs it: `tsc-compose watch` brings a busybox httpd up
 * serving /var/www, syncs ./src there (initial sync included), and a file edited, added or
 * deleted on the host is served changed, served, or gone; an ignored file never arrives;
 * an edit under ./config (sync+restart) restarts the container, whose files survive it.
 * Real parts: the bundled runtime, overlayfs, the agent's syncFiles through /proc/<pid>/root,
 * chokidar on inotify. Speed is measured in bench/watch, never here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createE2eHost, type E2eHost } from '../support/e2e-harness.js';
import { until } from '../support/poll.js';
import { command, describePrivileged, root } from '../support/privileged.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const port = 19000 + (process.pid % 900);

/** GET a path of the web container from the host: [status, body]. */
async function get(path: string): Promise<[number, string]> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    return [r.status, await r.text()];
  } catch {
    return [0, ''];
  }
}


describePrivileged('tsc-compose watch on one host', [root, command('nft'), command('ip'), command('tar')], () => {
  let host: E2eHost;
  let watcher: ChildProcess;
  let out = '';
  let err = '';
  const proj = () => join(host.dir, 'proj');

  beforeAll(async () => {
    host = await createE2eHost('watch', {
      'src/index.html': 'v1\n',
      'config/app.conf': 'a=1\n',
      'hooks/.keep': '',
      'compose.yaml': [
        'services:',
        '  web:',
        '    image: busybox',
        '    command: ["sh", "-c", "mkdir -p /var/www && cat /proc/sys/kernel/random/uuid > /var/www/boot.txt && exec httpd -f -p 80 -h /var/www"]',
        `    ports: ["127.0.0.1:${port}:80"]`,
        '    stop_grace_period: 1s',
        '    develop:',
        '      watch:',
        '        - path: ./src',
        '          target: /var/www',
        '          action: sync',
        '          initial_sync: true',
        '          ignore: ["*.tmp"]',
        '        - path: ./config',
        '          target: /etc/web',
        '          action: sync+restart',
        '  worker:',
        '    image: busybox',
        '    user: app',
        '    command: ["sleep", "3600"]',
        '    stop_signal: SIGKILL',
        '    develop:',
        '      watch:',
        '        - path: ./hooks',
        '          target: /tmp/hooks',
        '          action: sync+exec',
        '          exec:',
        '            command: ["sh", "-c", "echo hook ran as $(id -u) on $(cat /tmp/hooks/job)"]',
        '',
      ].join('\n'),
    });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TSC_COMPOSE_RUN_DIR: join(host.dir, 'run'),
      TSC_COMPOSE_STATE_DIR: join(host.dir, 'state'),
      TSC_COMPOSE_NFT_TABLE: host.table,
      COMPOSE_PROJECT_NAME: host.project,
    };
    delete env['CI'];
    // node itself with tsx's loader (resolved from the repository), so that SIGINT reaches it.
    const args = ['--import', 'tsx', join(repo, 'cli/main.ts'), '-f', join(proj(), 'compose.yaml'), '--progress', 'plain', 'watch'];
    watcher = spawn(process.execPath, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    watcher.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    watcher.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    await until('Watch enabled', async () => out, (o) => o.includes('Watch enabled') || watcher.exitCode !== null, 120_000);
    if (watcher.exitCode !== null) throw new Error(`watch exited ${watcher.exitCode}: ${err}`);
  }, 180_000);

  afterAll(async () => {
    if (watcher !== undefined && watcher.exitCode === null) {
      watcher.kill('SIGINT');
      await new Promise((r) => watcher.once('exit', r));
    }
    await host?.dispose();
  }, 120_000);

  it('brings the project up and syncs ./src into it before watching', async () => {
    expect(err).toContain(`Container ${host.project}-web-1  Started`);
    expect(await until('index served', () => get('/index.html'), ([s]) => s === 200)).toEqual([200, 'v1\n']);
  });

  it('serves a file edited on the host changed, a new file, and no longer a deleted one', async () => {
    await writeFile(join(proj(), 'src/index.html'), 'v2\n');
    expect(await until('v2 served', () => get('/index.html'), ([, b]) => b === 'v2\n')).toEqual([200, 'v2\n']);
    expect(out).toContain('Syncing service "web" after 1 changes were detected');

    await writeFile(join(proj(), 'src/new.html'), 'fresh\n');
    expect(await until('new file served', () => get('/new.html'), ([s]) => s === 200)).toEqual([200, 'fresh\n']);
    await rm(join(proj(), 'src/new.html'));
    expect((await until('deleted file gone', () => get('/new.html'), ([s]) => s === 404))[0]).toBe(404);
  });

  it('never syncs an ignored file', async () => {
    await writeFile(join(proj(), 'src/draft.tmp'), 'secret\n');
    await writeFile(join(proj(), 'src/marker.html'), 'after\n');
    // The marker of the same batch (or a later one) is served: the batch ran.
    await until('marker served', () => get('/marker.html'), ([s]) => s === 200);
    expect((await get('/draft.tmp'))[0]).toBe(404);
  });

  it('restarts the container after a sync+restart of ./config, and the synced files survive it', async () => {
    const [, bootBefore] = await get('/boot.txt');
    await writeFile(join(proj(), 'config/app.conf'), 'a=2\n');
    const [, bootAfter] = await until('a new boot', () => get('/boot.txt'), ([s, b]) => s === 200 && b !== bootBefore);
    expect(bootAfter).not.toBe(bootBefore);
    await until('restart reported', async () => out, (o) => o.includes('service "web" restarted'));
    expect(host.cli(['exec', 'web', 'cat', '/etc/web/app.conf']).stdout).toBe('a=2\n');
    expect((await get('/index.html'))[1]).toBe('v2\n');
    expect((await get('/marker.html'))[1]).toBe('after\n');
  });

  it('re-syncs into a recreated container: the synced files survive a new writable layer', async () => {
    const [, bootBefore] = await get('/boot.txt');
    const r = host.cli(['up', '-d', '--force-recreate', 'web']);
    expect(r.status, r.stderr).toBe(0);
    await until('the new container', () => get('/boot.txt'), ([s, b]) => s === 200 && b !== bootBefore);
    // Nothing but the watch's re-sync on start puts these in the new container.
    expect(await until('v2 in the new container', () => get('/index.html'), ([s]) => s === 200)).toEqual([200, 'v2\n']);
    expect(await until('marker in the new container', () => get('/marker.html'), ([s]) => s === 200)).toEqual([200, 'after\n']);
    expect((await get('/draft.tmp'))[0]).toBe(404);
  });

  it('syncs as the container\'s user, then runs the sync+exec hook in the container', async () => {
    await writeFile(join(proj(), 'hooks/job'), 'job-1\n');
    await until('hook output', async () => out, (o) => o.includes('hook ran as 1000 on job-1'));
    expect(out).toContain('Syncing service "worker" after 1 changes were detected');
    // Made by the sync (directory included), owned by `app` (1000:1000 in the image's passwd).
    expect(host.cli(['exec', 'worker', 'stat', '-c', '%u:%g %n', '/tmp/hooks', '/tmp/hooks/job']).stdout).toBe('1000:1000 /tmp/hooks\n1000:1000 /tmp/hooks/job\n');
  });

  it('stops on Ctrl-C with status 0', async () => {
    watcher.kill('SIGINT');
    const code = await new Promise<number | null>((r) => watcher.once('exit', (c) => r(c)));
    expect(code, err).toBe(0);
  });
});
