/**
 * One host, end to end, as a user runs it: the CLI loads an image archive, starts a project
 * whose client waits for a healthy web server, reaches it by name and on its published port,
 * survives its agent being killed, runs one-off containers, then `down` leaves no container,
 * netns, link, nftables rule, mount or runtime state behind. Real parts only: the bundled
 * runtime, overlayfs, bridges, nftables and the embedded DNS.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createE2eHost, type E2eHost } from '../support/e2e-harness.js';
import { command, describePrivileged, root } from '../support/privileged.js';

describePrivileged('tsc-compose up and down on one host', [root, command('nft'), command('ip'), command('busybox'), command('tar')], () => {
  let host: E2eHost;
  let project: string;
  const cli = (args: string[]) => host.cli(args);
  const fromHost = () => spawnSync('busybox', ['wget', '-qO-', 'http://127.0.0.1:18481/'], { encoding: 'utf8' }).stdout;

  beforeAll(async () => {
    host = await createE2eHost('e2e', {
      'html/index.html': 'hello from web\n',
      'compose.yaml': [
        'services:',
        '  web:',
        '    image: busybox',
        '    command: ["httpd", "-f", "-p", "80", "-h", "/www"]',
        '    volumes: ["./html:/www:ro"]',
        '    ports: ["127.0.0.1:18481:80"]',
        '    healthcheck: { test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"], interval: 1s, retries: 5 }',
        '  client:',
        '    image: busybox',
        '    command: ["sh", "-c", "wget -qO- http://web/ && sleep 600"]',
        '    depends_on: { web: { condition: service_healthy } }',
        '',
      ].join('\n'),
    });
    project = host.project;
  }, 180_000);

  afterAll(async () => {
    await host.dispose();
  }, 120_000);

  it('brings the project up in dependency order, and serves it', () => {
    const up = cli(['--progress', 'plain', 'up', '-d']);
    expect(up.status, up.stderr).toBe(0);
    const lines = up.stderr.split('\n');
    const at = (l: string) => lines.indexOf(l);
    expect(at(` Container ${project}-web-1  Healthy`)).toBeGreaterThan(at(` Container ${project}-web-1  Started`));
    expect(at(` Container ${project}-client-1  Started`)).toBeGreaterThan(at(` Container ${project}-web-1  Healthy`));

    const ps = cli(['ps', '--format', 'json']);
    const rows = ps.stdout.trim().split('\n').map((l) => JSON.parse(l) as { Service: string; State: string; Health: string });
    expect(rows.map((r) => [r.Service, r.State])).toEqual([
      ['client', 'running'],
      ['web', 'running'],
    ]);
    expect(rows.find((r) => r.Service === 'web')?.Health).toBe('healthy');
    // The project's bridge carries the compose network name as its altname.
    expect(spawnSync('ip', ['link', 'show'], { encoding: 'utf8' }).stdout).toContain(`${project}_default`);

    // By name through the embedded DNS, from the client container.
    expect(cli(['logs', '--no-log-prefix', 'client']).stdout).toBe('hello from web\n');
    // On the published port, from the host.
    expect(fromHost()).toBe('hello from web\n');
    // exec runs inside, with the container's view.
    expect(cli(['exec', 'web', 'cat', '/etc/resolv.conf']).stdout).toContain('nameserver 127.0.0.11');
  }, 180_000);

  it('loses nothing when the agent is killed: containers, logs and state come back, up converges', async () => {
    const before = cli(['ps', '-q']).stdout;
    await host.killAgent();
    await host.startAgent();
    expect(cli(['ps', '-q']).stdout).toBe(before);
    expect(cli(['logs', '--no-log-prefix', 'client']).stdout).toBe('hello from web\n');
    const again = cli(['--progress', 'plain', 'up', '-d']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain(` Container ${project}-client-1  Running`);
    expect(cli(['ps', '-q']).stdout).toBe(before);
    expect(fromHost()).toBe('hello from web\n');
  }, 180_000);

  it('runs a one-off container and passes its exit code on', () => {
    const r = cli(['--progress', 'quiet', 'run', '--rm', 'client', 'sh', '-c', 'echo one-off; exit 7']);
    expect(r.stdout).toBe('one-off\n');
    expect(r.status).toBe(7);
    expect(cli(['ps', '-a', '--format', 'json']).stdout).not.toContain('client-run');
  }, 120_000);

  it('down leaves nothing of the project behind', async () => {
    const ids = cli(['ps', '-a', '-q']).stdout.trim().split('\n');
    expect(ids).toHaveLength(2);
    expect(existsSync(join('/sys/fs/cgroup/memory', host.cgroupParent))).toBe(true);
    const down = cli(['--progress', 'plain', 'down']);
    expect(down.status, down.stderr).toBe(0);
    expect(cli(['ps', '-a', '-q']).stdout).toBe('');
    // Other suites may run beside this one: look for this project's objects only.
    const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    for (const id of ids) expect(netns).not.toContain(`tsc-${id.slice(0, 12)}`);
    expect(spawnSync('ip', ['link', 'show'], { encoding: 'utf8' }).stdout).not.toContain(`${project}_default`);
    const nft = spawnSync('nft', ['list', 'table', 'inet', host.table], { encoding: 'utf8' });
    expect(nft.stdout).not.toMatch(/dnat|masquerade/);
    expect(spawnSync('mount', [], { encoding: 'utf8' }).stdout).not.toContain(host.dir);
    expect(await readdir(join(host.dir, 'run/runtime')).catch(() => [])).toEqual([]);
    expect(await readdir(join(host.dir, 'state/containers')).catch(() => [])).toEqual([]);
    // The agent's parent cgroup goes with its last container, under every controller.
    const controllers = await readdir('/sys/fs/cgroup');
    expect(controllers.filter((c) => existsSync(join('/sys/fs/cgroup', c, host.cgroupParent)))).toEqual([]);
  }, 120_000);
});
