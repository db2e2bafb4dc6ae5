/**
 * Compose Watch's `rebuild` action end to end: an edit to a file under a rebuild rule builds a
 * new image with the bundled builder and recreates that service's container, while the service
 * it depends on keeps running untouched (`up --no-deps` semantics). Real parts: the builder
 * (RUN/COPY on overlayfs), the bundled runtime, chokidar on inotify.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createE2eHost, type E2eHost } from '../support/e2e-harness.js';
import { followUntilReady, until, type FollowedProcess } from '../support/poll.js';
import { command, describePrivileged, root } from '../support/privileged.js';

describePrivileged('tsc-compose watch: rebuild', [root, command('nft'), command('ip'), command('tar')], () => {
  let host: E2eHost;
  let watcher: FollowedProcess | undefined;

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
    watcher = await followUntilReady(host.spawnCli(['--progress', 'plain', 'watch']), 'Watch enabled');
  }, 180_000);

  afterAll(async () => {
    await watcher?.stop();
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
    await until('the rebuilt container', () => host.cli(['exec', '-T', 'api', 'cat', '/version.txt']).stdout, (v) => v === 'two\n', 60_000);
    const after = ids();
    expect(after['api']).not.toBe(before['api']);
    expect(after['db']).toBe(before['db']);
    // the watcher's output reaches this process between the polls above, not at once
    await until('the rebuild reported', () => watcher?.out() ?? '', (o) => o.includes('Rebuilding service(s) ["api"] after changes were detected...'), 10_000);
  }, 180_000);
});
