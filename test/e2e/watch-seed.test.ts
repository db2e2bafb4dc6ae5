/**
 * The seed's Compose Watch example (fixtures/compose/watch-actions, compose file verbatim) end to
 * end: a change under ./src is copied to /app/src without a restart, a change under ./config is
 * copied and the container restarts, an edit to package.json builds a new image and recreates
 * the container. The seed's app is a Node.js one; here its image is a busybox stand-in built
 * from the seed's `build: .` (no Node.js image can be pulled offline), which is all Watch needs.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createE2eHost, type E2eHost } from '../support/e2e-harness.js';
import { followUntilReady, until, type FollowedProcess } from '../support/poll.js';
import { command, describePrivileged, root } from '../support/privileged.js';

const seed = fileURLToPath(new URL('../../fixtures/compose/watch-actions/compose.yaml', import.meta.url));

describePrivileged('the seed Compose Watch example (watch-actions)', [root, command('nft'), command('ip'), command('tar')], () => {
  let host: E2eHost;
  let watcher: FollowedProcess | undefined;
  const file = (p: string) => join(host.dir, 'proj', p);
  const cat = (p: string) => host.cli(['exec', '-T', 'app', 'cat', p]);
  const containerId = () => (JSON.parse(host.cli(['ps', '--format', 'json', 'app']).stdout.trim().split('\n')[0] ?? '{}') as { ID?: string }).ID;

  beforeAll(async () => {
    host = await createE2eHost('wseed', {
      'compose.yaml': readFileSync(seed, 'utf8'),
      Dockerfile: [
        'FROM busybox',
        'WORKDIR /app',
        'COPY package.json /app/package.json',
        // a new boot id on every start, so that a restart can be seen from outside
        'CMD ["sh", "-c", "cat /proc/sys/kernel/random/uuid > /tmp/boot; exec sleep 3600"]',
        '',
      ].join('\n'),
      'package.json': '{"name": "app", "version": "1.0.0"}\n',
      'src/index.js': 'console.log(1)\n',
      'config/app.json': '{"level": 1}\n',
    });
    watcher = await followUntilReady(host.spawnCli(['--progress', 'plain', 'watch']), 'Watch enabled');
  }, 180_000);

  afterAll(async () => {
    await watcher?.stop();
    await host?.dispose();
  }, 120_000);

  it('copies a change under ./src to /app/src without a restart', async () => {
    const boot = cat('/tmp/boot').stdout;
    expect(boot).not.toBe('');
    await writeFile(file('src/index.js'), 'console.log(2)\n');
    await until('the edit in the container', () => cat('/app/src/index.js').stdout, (v) => v === 'console.log(2)\n', 60_000);
    // the first rule has no ignore list: node_modules under ./src is copied by it (README)
    await mkdir(file('src/node_modules'), { recursive: true });
    await writeFile(file('src/node_modules/dep.js'), 'dep\n');
    await until('node_modules through the first rule', () => cat('/app/src/node_modules/dep.js').stdout, (v) => v === 'dep\n', 60_000);
    expect(cat('/tmp/boot').stdout).toBe(boot);
  }, 120_000);

  it('copies a change under ./config and restarts the container', async () => {
    const boot = cat('/tmp/boot').stdout;
    await writeFile(file('config/app.json'), '{"level": 2}\n');
    await until('a new boot', () => cat('/tmp/boot').stdout, (v) => v !== '' && v !== boot, 60_000);
    expect(cat('/app/config/app.json').stdout).toBe('{"level": 2}\n');
    // what was synced before the restart is still there
    expect(cat('/app/src/index.js').stdout).toBe('console.log(2)\n');
  }, 120_000);

  it('rebuilds the image and recreates the container after an edit to package.json', async () => {
    const before = containerId();
    await writeFile(file('package.json'), '{"name": "app", "version": "2.0.0"}\n');
    await until('the rebuilt image in a new container', () => cat('/app/package.json').stdout, (v) => v.includes('2.0.0'), 60_000);
    expect(containerId()).not.toBe(before);
  }, 180_000);
});
