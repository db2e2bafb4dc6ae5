/**
 * The agent killed with SIGKILL in the middle of `up` (issue 5): the containers it had
 * started keep running under their monitors with their logs, a restarted agent finds them,
 * and `up` again converges to the whole project without a duplicate.
 */
import { spawn } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createE2eHost, type E2eHost } from '../support/e2e-harness.js';
import { untilTrue } from '../support/poll.js';
import { command, describePrivileged, root } from '../support/privileged.js';

const level = (name: string, after?: string) => [
  `  ${name}:`,
  '    image: busybox',
  `    command: ["sh", "-c", "echo ${name} up; exec sleep 600"]`,
  '    stop_signal: SIGKILL',
  '    healthcheck: { test: ["CMD", "true"], interval: 2s, start_period: 0s }',
  ...(after === undefined ? [] : [`    depends_on: { ${after}: { condition: service_healthy } }`]),
];


describePrivileged('the agent killed in the middle of up', [root, command('nft'), command('ip'), command('busybox'), command('tar')], () => {
  let host: E2eHost;
  const cli = (args: string[]) => host.cli(args);

  beforeAll(async () => {
    host = await createE2eHost('crash', {
      'compose.yaml': ['services:', ...level('s1'), ...level('s2', 's1'), ...level('s3', 's2'), ...level('s4', 's3'), ''].join('\n'),
    });
  }, 180_000);

  afterAll(async () => {
    await host.dispose();
  }, 120_000);

  it('keeps what was started, and up converges after the agent is back', async () => {
    const { argv, env, cwd } = host.command;
    const [bin = '', ...rest] = argv;
    const up = spawn(bin, [...rest, '--progress', 'plain', 'up', '-d'], { env, cwd, stdio: 'ignore' });
    const upDone = new Promise<number | null>((r) => up.once('exit', r));
    // Kill the agent once s1 has logged (it started) and while s2..s4 wait on health.
    const containers = join(host.dir, 'state/containers');
    const logged = async (text: string): Promise<boolean> => {
      for (const id of await readdir(containers).catch(() => [])) {
        const log = await readFile(join(containers, id, `${id}-json.log`), 'utf8').catch(() => '');
        if (log.includes(text)) return true;
      }
      return false;
    };
    await untilTrue('s1 to start', () => logged('s1 up'), 60_000);
    await host.killAgent();
    expect(await logged('s4 up')).toBe(false);
    expect(await upDone).not.toBe(0);

    await host.startAgent();
    const ps = () =>
      cli(['ps', '-a', '--format', 'json'])
        .stdout.trim()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { Name: string; Service: string; State: string });
    const before = ps();
    expect(before.find((c) => c.Service === 's1')?.State).toBe('running');
    expect(cli(['logs', '--no-log-prefix', 's1']).stdout).toBe('s1 up\n');

    const again = cli(['--progress', 'plain', 'up', '-d', '--wait']);
    expect(again.status, again.stderr).toBe(0);
    const after = ps();
    expect(after.map((c) => [c.Service, c.State])).toEqual([
      ['s1', 'running'],
      ['s2', 'running'],
      ['s3', 'running'],
      ['s4', 'running'],
    ]);
    // The containers made before the crash are the ones still there: none was made twice.
    for (const c of before) expect(after.map((a) => a.Name)).toContain(c.Name);
    expect(cli(['logs', '--no-log-prefix', 's1']).stdout).toBe('s1 up\n');
  }, 240_000);
});
