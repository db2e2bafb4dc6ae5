/**
 * Restart policies and OOM kills on the real runtime: a crashing service is restarted with
 * Docker's backoff as many times as `on-failure:N` allows; a service over its memory limit is
 * killed by the kernel and reported as OOM-killed with exit code 137.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';

import { createE2eHost, type E2eHost } from '../support/e2e-harness.js';
import { command, describePrivileged, root } from '../support/privileged.js';

interface Inspect {
  State: string;
  ExitCode: number;
}

describePrivileged('restart policies and OOM kills', [root, command('nft'), command('ip'), command('busybox'), command('tar')], () => {
  let host: E2eHost;

  beforeAll(async () => {
    host = await createE2eHost('restart', {
      'compose.yaml': [
        'services:',
        '  crash:',
        '    image: busybox',
        '    command: ["sh", "-c", "echo starting; exit 3"]',
        '    restart: on-failure:2',
        '  hog:',
        '    image: busybox',
        '    command: ["tail", "/dev/zero"]',
        '    mem_limit: 16m',
        '    memswap_limit: 16m',
        '',
      ].join('\n'),
    });
  }, 180_000);

  afterAll(async () => {
    await host.dispose();
  }, 120_000);

  const wait = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 300; i++) {
      if (ok()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  const row = (service: string): Inspect | undefined => {
    const lines = host.cli(['ps', '-a', '--format', 'json', service]).stdout.trim().split('\n').filter((l) => l !== '');
    return lines.map((l) => JSON.parse(l) as Inspect & { Service: string }).find((r) => r.Service === service);
  };

  it('restarts a crashing service on-failure:2 times, then leaves it exited', async () => {
    const up = host.cli(['--progress', 'quiet', 'up', '-d']);
    expect(up.status, up.stderr).toBe(0);
    // 1 run + 2 restarts, 100 ms then 200 ms apart: three "starting" lines, then it stays down.
    await wait('three runs of crash', () => host.cli(['logs', '--no-log-prefix', 'crash']).stdout === 'starting\nstarting\nstarting\n' && row('crash')?.State === 'exited');
    expect(row('crash')).toMatchObject({ State: 'exited', ExitCode: 3 });
    await new Promise((r) => setTimeout(r, 1000));
    expect(host.cli(['logs', '--no-log-prefix', 'crash']).stdout).toBe('starting\nstarting\nstarting\n');
  }, 120_000);

  it('reports a container killed by the OOM killer with exit code 137', async () => {
    await wait('hog to be OOM-killed', () => row('hog')?.State === 'exited');
    expect(row('hog')).toMatchObject({ State: 'exited', ExitCode: 137 });
    const events = host.cli(['ps', '-a', '--format', 'json', 'hog']).stdout;
    expect(events).toContain('Exited (137)');
  }, 120_000);
});
