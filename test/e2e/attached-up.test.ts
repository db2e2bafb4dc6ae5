/**
 * Attached `up` and `attach` on the real runtime: the logs of every container multiplexed with
 * `name  | ` prefixes, `--exit-code-from` passing a service's exit code on, `scale` adding
 * containers, and `attach` following a running container until it exits.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';

import { createE2eHost, type E2eHost } from '../support/e2e-harness.js';
import { command, describePrivileged, root } from '../support/privileged.js';

describePrivileged('attached up, attach and scale', [root, command('nft'), command('ip'), command('busybox'), command('tar')], () => {
  let host: E2eHost;

  beforeAll(async () => {
    host = await createE2eHost('attach', {
      'compose.yaml': [
        'services:',
        '  job:',
        '    image: busybox',
        '    command: ["sh", "-c", "sleep 0.5; echo job done; exit 3"]',
        '    depends_on: [side]',
        '  side:',
        '    image: busybox',
        '    command: ["sh", "-c", "echo side up; trap \'echo side stopped; exit 0\' TERM; while true; do sleep 0.1; done"]',
        '  waiter:',
        '    image: busybox',
        '    profiles: [manual]',
        '    command: ["sh", "-c", "while [ ! -e /tmp/go ]; do echo waiting; sleep 0.2; done; echo released; exit 4"]',
        '',
      ].join('\n'),
    });
  }, 180_000);

  afterAll(async () => {
    await host.dispose();
  }, 120_000);

  it('multiplexes the logs with prefixes and exits with the code of --exit-code-from', () => {
    const up = host.cli(['--progress', 'quiet', 'up', '--no-color', '--exit-code-from', 'job'], 60_000);
    expect(up.status, up.stderr).toBe(3);
    const p = host.project;
    expect(up.stdout).toContain(`Attaching to ${p}-job-1, ${p}-side-1`);
    expect(up.stdout).toMatch(new RegExp(`^${p}-job-1 +\\| job done$`, 'm'));
    expect(up.stdout).toMatch(new RegExp(`^${p}-side-1 +\\| side up$`, 'm'));
    expect(up.stdout).toContain(`${p}-job-1 exited with code 3`);
    expect(up.stderr).toContain('Aborting on container exit...');
    // the others were stopped gracefully: side's TERM trap ran
    expect(up.stdout).toMatch(new RegExp(`^${p}-side-1 +\\| side stopped$`, 'm'));
  }, 90_000);

  it('scale starts more containers of a service', () => {
    const scale = host.cli(['--progress', 'quiet', 'scale', 'side=2'], 60_000);
    expect(scale.status, scale.stderr).toBe(0);
    const ps = host.cli(['ps', '--format', 'json', 'side']);
    const rows = ps.stdout.trim().split('\n').map((l) => JSON.parse(l) as { Name: string; State: string });
    expect(rows.map((r) => `${r.Name}:${r.State}`).sort()).toEqual([`${host.project}-side-1:running`, `${host.project}-side-2:running`]);
  }, 90_000);

  it('attach follows a running container until it exits and passes its exit code on', async () => {
    const up = host.cli(['--progress', 'quiet', '--profile', 'manual', 'up', '-d', 'waiter'], 60_000);
    expect(up.status, up.stderr).toBe(0);
    const attach = host.spawnCli(['attach', 'waiter']);
    let out = '';
    attach.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    let err = '';
    attach.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const code = new Promise<number | null>((r) => attach.on('exit', r));
    // release the container once attach is following it, which its output shows
    for (let i = 0; i < 600 && !out.includes('waiting\n'); i++) await new Promise((r) => setTimeout(r, 50));
    const exec = host.cli(['--profile', 'manual', 'exec', '-T', 'waiter', 'touch', '/tmp/go']);
    expect(exec.status, exec.stderr).toBe(0);
    expect(await code, `${err}\n${host.cli(['--profile', 'manual', 'ps', '-a']).stdout}`).toBe(4);
    expect(out).toMatch(/^(waiting\n)+released\n$/);
  }, 90_000);
});
