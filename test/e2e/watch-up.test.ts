/**
 * `up --watch`: the project comes up attached (its logs followed), the watch rules apply while
 * it runs, and one Ctrl-C stops both the containers and the watch (exit 130, as `up` gives).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createE2eHost, type E2eHost } from '../support/e2e-harness.js';
import { untilTrue } from '../support/poll.js';
import { command, describePrivileged, root } from '../support/privileged.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const port = 19900 + (process.pid % 90);

async function get(path: string): Promise<string | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    return r.status === 200 ? await r.text() : undefined;
  } catch {
    return undefined;
  }
}


describePrivileged('tsc-compose up --watch', [root, command('nft'), command('ip'), command('tar')], () => {
  let host: E2eHost;
  let up: ChildProcess;
  let out = '';
  let err = '';

  beforeAll(async () => {
    host = await createE2eHost('watchup', {
      'src/index.html': 'one\n',
      'compose.yaml': [
        'services:',
        '  web:',
        '    image: busybox',
        '    command: ["sh", "-c", "mkdir -p /var/www && echo web is up && exec httpd -f -p 80 -h /var/www"]',
        `    ports: ["127.0.0.1:${port}:80"]`,
        '    stop_signal: SIGKILL',
        '    develop:',
        '      watch:',
        '        - { path: ./src, target: /var/www, action: sync, initial_sync: true }',
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
    const args = ['--import', 'tsx', join(repo, 'cli/main.ts'), '-f', join(host.dir, 'proj/compose.yaml'), '--progress', 'plain', 'up', '--watch', '--no-color'];
    up = spawn(process.execPath, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    up.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    up.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    await untilTrue('attached', () => out.includes('Attaching to') || up.exitCode !== null, 120_000);
    if (up.exitCode !== null) throw new Error(`up --watch exited ${up.exitCode}: ${err}`);
  }, 180_000);

  afterAll(async () => {
    if (up !== undefined && up.exitCode === null) {
      up.kill('SIGKILL');
      await new Promise((r) => up.once('exit', r));
    }
    await host?.dispose();
  }, 120_000);

  it('follows the logs and syncs while attached', async () => {
    expect(out).toContain('Watch enabled');
    await untilTrue('the log line', () => out.includes(`${host.project}-web-1  | web is up`));
    await untilTrue('initial content', async () => (await get('/index.html')) === 'one\n');
    await writeFile(join(host.dir, 'proj/src/index.html'), 'two\n');
    await untilTrue('edited content', async () => (await get('/index.html')) === 'two\n');
    expect(out).toContain('Syncing service "web" after 1 changes were detected');
  });

  it('stops the containers and the watch on Ctrl-C', async () => {
    up.kill('SIGINT');
    const code = await new Promise<number | null>((r) => up.once('exit', (c) => r(c)));
    expect(code, err).toBe(130);
    expect(err).toContain('Gracefully stopping...');
    expect(host.cli(['ps', '-q']).stdout).toBe('');
  });
});
