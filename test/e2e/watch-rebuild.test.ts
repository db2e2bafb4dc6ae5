/**
 * Compose Watch's `rebuild` action end to end: an edit to a file under a rebuild rule builds a
 * new image with the bundled builder and recreates that service's container, while the service
 * it depends on keeps running untouched (`up --no-deps` semantics). Real parts: the builder
 * (RUN/COPY on overlayfs), the bundled runtime, chokidar on inotify.
 */
import { type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createE2eHost, type E2eHost } from '../support/e2e-harness.js';
import { command, describePrivileged, root } from '../support/privileged.js';

/** Poll until `check` holds (a deadline, no fixed sleep); returns the last value seen. */
async function until<T>(what: string, read: () => T | Promise<T>, check: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!check(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await read();
  }
  return last;
}

describePrivileged('tsc-compose watch: rebuild', [root, command('nft'), command('ip'), command('tar')], () => {
  let host: E2eHost;
  let watcher: ChildProcess;
  let out = '';
  let err = '';

  beforeAll(async () => {
    host = await createE2eHost('wrebuild', {
      'api/Dockerfile': 'FROM busybox\nCOPY version.txt /version.txt\nCMD ["sh", "-c", "exec sleep 3600"]\n',
      'api/version.txt': 'one\n',
      'compose.yaml': [
        'services:',
        '  db:',
        '    image: busybox',
        '    command: ["sleep", "3600"]',
        '    stop_signal: SIGKILL',
        '  api:',
        '    build: ./api',
        '    stop_signal: SIGKILL',
        '    depends_on: [db]',
        '    develop:',
        '      watch:',
        '        - path: ./api/version.txt',
        '          action: rebuild',
        '',
      ].join('\n'),
    });
    watcher = host.spawnCli(['--progress', 'plain', 'watch']);
    watcher.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    watcher.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    await until('Watch enabled', () => out, (o) => o.includes('Watch enabled') || watcher.exitCode !== null, 120_000);
    if (watcher.exitCode !== null) throw new Error(`watch exited ${watcher.exitCode}: ${err}`);
  }, 180_000);

  afterAll(async () => {
    if (watcher !== undefined && watcher.exitCode === null) {
      watcher.kill('SIGINT');
      await new Promise((r) => watcher.once('exit', r));
    }
    await host?.dispose();
  }, 120_000);

  const ids = (): Record<string, string> => {
    const ps = host.cli(['ps', '--format', 'json']);
    return Object.fromEntries(ps.stdout.trim().split('\n').filter((l) => l !== '').map((l) => {
      const r = JSON.parse(l) as { Service: string; ID: string };
      return [r.Service, r.ID];
    }));
  };

  it('builds a new image and recreates the service, leaving its dependency running', async () => {
    expect(host.cli(['exec', '-T', 'api', 'cat', '/version.txt']).stdout).toBe('one\n');
    const before = ids();
    expect(before['db']).toBeDefined();
    await writeFile(join(host.dir, 'proj/api/version.txt'), 'two\n');
    await until('the rebuilt container', () => host.cli(['exec', '-T', 'api', 'cat', '/version.txt']).stdout, (v) => v === 'two\n');
    const after = ids();
    expect(after['api']).not.toBe(before['api']);
    expect(after['db']).toBe(before['db']);
    // the watcher's output reaches this process between the polls above, not at once
    await until('the rebuild reported', () => out, (o) => o.includes('Rebuilding service(s) ["api"] after changes were detected...'), 10_000);
  }, 180_000);
});
