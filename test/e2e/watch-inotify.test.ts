/**
 * The inotify limit, hit for real: a watcher in a user namespace of its own whose
 * `user.max_inotify_watches` is 8 (the limit counts there and nowhere else on the machine)
 * watches a tree of 20 directories. The session must end with the message that names
 * fs.inotify.max_user_watches and how to raise it, not hang and not crash.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { command, describePrivileged, root } from '../support/privileged.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));

describePrivileged('watch at the inotify limit', [root, command('unshare')], () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsc-watch-inotify-'));
    for (let i = 0; i < 20; i++) await mkdir(join(dir, 'src', `d${i}`), { recursive: true });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('ends with a message naming fs.inotify.max_user_watches', () => {
    const session = new URL('../../reconciler/watch/watch-session.ts', import.meta.url).pathname;
    const rules = new URL('../../reconciler/watch/watch-rules.ts', import.meta.url).pathname;
    const child = [
      `import { startWatchSession } from ${JSON.stringify(session)};`,
      `import { compileWatchRules } from ${JSON.stringify(rules)};`,
      `const dir = ${JSON.stringify(dir)};`,
      "const project = { name: 'p', workingDir: dir, services: { web: { develop: { watch: [{ path: dir + '/src', target: '/x', action: 'sync' }] } } } };",
      'const { rules } = compileWatchRules(project, { readDockerignore: () => undefined });',
      'const agent = { listContainers: async () => [], events: () => (async function* () {})() };',
      "const s = startWatchSession({ agent, project: 'p', rules, log: (l) => console.log(l), rebuild: async () => {} });",
      "try { await s.ready; await s.done; console.log('ended without error'); } catch (e) { console.log(e.format()); }",
    ].join('\n');
    const r = spawnSync(
      'unshare',
      ['-U', '-r', 'sh', '-c', 'echo 8 > /proc/sys/user/max_inotify_watches && exec "$0" --import tsx --input-type=module -e "$1"', process.execPath, child],
      { cwd: repo, encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^inotify watch limit reached while watching .*: fs\.inotify\.max_user_watches \(now 8\) is too low for the watched tree\n/);
    expect(r.stdout).toContain('hint: raise it with `sysctl fs.inotify.max_user_watches=524288`');
    expect(r.stdout).not.toContain('Watch enabled');
  });
});
