/**
 * A published host port taken by a host process while the agent was down: the restarted agent
 * reports it on the container (`ps`, Docker's "port is already allocated"), and the container's
 * next start fails on it, naming the service and key, until the port is free again.
 */
import { spawn, type ChildProcess } from 'node:child_process';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createE2eHost, type E2eHost } from '../support/e2e-harness.js';
import { until } from '../support/poll.js';
import { command, describePrivileged, root } from '../support/privileged.js';

describePrivileged('a published port taken while the agent was down', [root, command('nft'), command('ip'), command('busybox'), command('tar')], () => {
  let host: E2eHost;
  let squatter: ChildProcess | undefined;
  const port = 41000 + Math.floor(Math.random() * 8000);

  beforeAll(async () => {
    host = await createE2eHost('portgone', {
      'compose.yaml': ['services:', '  web:', '    image: busybox', '    command: ["sleep", "600"]', '    stop_signal: SIGKILL', `    ports: ["${port}:80"]`, ''].join('\n'),
    });
  }, 180_000);

  afterAll(async () => {
    squatter?.kill('SIGKILL');
    await host.dispose();
  }, 120_000);

  const ps = () =>
    host
      .cli(['ps', '-a', '--format', 'json'])
      .stdout.trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { Service: string; State: string; Status: string });

  it('is reported after the agent restarts, and the next start fails on it', async () => {
    const up = host.cli(['--progress', 'plain', 'up', '-d']);
    expect(up.status, up.stderr).toBe(0);
    expect(ps()[0]?.Status).toMatch(/^Up /);
    await host.killAgent();
    squatter = spawn('node', ['-e', `require('net').createServer().listen(${port},()=>console.log('bound'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await until('the host process to bind', () => squatter?.stdout?.read()?.toString() ?? '', (o) => o.includes('bound'), 10_000);
    await host.startAgent();

    const [web] = ps();
    expect(web?.State).toBe('running');
    expect(web?.Status).toContain(`(Bind for 0.0.0.0:${port} failed: port is already allocated`);

    const restart = host.cli(['restart', 'web']);
    expect(restart.status).not.toBe(0);
    expect(restart.stderr).toContain(`service web: ports[0]: host port ${port}/tcp is already in use on the host`);

    // Freed: the next start takes the port and the report is gone.
    squatter.kill('SIGKILL');
    await until('the host process to exit', () => squatter?.exitCode ?? squatter?.signalCode ?? null, (c) => c !== null, 10_000);
    const start = host.cli(['start', 'web']);
    expect(start.status, start.stderr).toBe(0);
    expect(ps()[0]?.Status).toMatch(/^Up [^(]*$/);
  }, 240_000);
});
