/**
 * A published host port taken by a host process while the agent was down: the restarted agent
 * reports it on the container (`ps`, Docker's "port is already allocated") until the port is
 * free again (then takes it back by itself), and the container's next start fails on it,
 * naming the service and key.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

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

  const squat = async (): Promise<void> => {
    squatter = spawn('node', ['-e', `require('net').createServer().listen(${port},()=>console.log('bound'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await until('the host process to bind', () => squatter?.stdout?.read()?.toString() ?? '', (o) => o.includes('bound'), 10_000);
  };
  const unsquat = async (): Promise<void> => {
    squatter?.kill('SIGKILL');
    await until('the host process to exit', () => squatter?.exitCode ?? squatter?.signalCode ?? null, (c) => c !== null, 10_000);
  };
  const bindFromHost = () =>
    spawnSync('node', ['-e', `require('net').createServer().once('error',(e)=>{console.log(e.code);process.exit(0)}).listen(${port},()=>{console.log('bound');process.exit(0)})`], { encoding: 'utf8' }).stdout.trim();

  it('is reported after the agent restarts, and goes once the port is free again', async () => {
    const up = host.cli(['--progress', 'plain', 'up', '-d']);
    expect(up.status, up.stderr).toBe(0);
    expect(ps()[0]?.Status).toMatch(/^Up /);
    await host.killAgent();
    await squat();
    await host.startAgent();

    const [web] = ps();
    expect(web?.State).toBe('running');
    expect(web?.Status).toContain(`(Bind for 0.0.0.0:${port} failed: port is already allocated`);

    // Freed: the agent takes the port back by itself, and the report goes.
    await unsquat();
    await until('ps to drop the report', () => ps()[0]?.Status ?? '', (st) => /^Up [^(]*$/.test(st), 30_000);
    expect(bindFromHost()).toBe('EADDRINUSE');
  }, 240_000);

  it('fails the next start of the container while the port is taken, naming the service and key', async () => {
    await host.killAgent();
    await squat();
    await host.startAgent();
    const restart = host.cli(['restart', 'web']);
    expect(restart.status).not.toBe(0);
    expect(restart.stderr).toContain(`service web: ports[0]: host port ${port}/tcp is already in use on the host`);
    await unsquat();
    const start = host.cli(['start', 'web']);
    expect(start.status, start.stderr).toBe(0);
    expect(ps()[0]?.Status).toMatch(/^Up [^(]*$/);
  }, 240_000);
});
