/**
 * Shared namespaces on the real runtime: `network_mode`, `pid` and `ipc` of `service:X` join
 * X's namespaces (the same loopback, the same processes, X's hostname), and `pid: host` /
 * `uts: host` see the host's processes and name, as with Docker.
 */
import { hostname } from 'node:os';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createE2eHost, type E2eHost } from '../support/e2e-harness.js';
import { command, describePrivileged, root } from '../support/privileged.js';

describePrivileged('shared namespaces', [root, command('nft'), command('ip'), command('busybox'), command('tar')], () => {
  let host: E2eHost;

  beforeAll(async () => {
    host = await createE2eHost('ns', {
      'compose.yaml': [
        'services:',
        '  db:',
        '    image: busybox',
        '    hostname: dbhost',
        '    command: ["sh", "-c", "mkdir -p /www && echo from-db > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"]',
        '    stop_signal: SIGKILL',
        '  app:',
        '    image: busybox',
        '    network_mode: service:db',
        '    pid: service:db',
        '    ipc: service:db',
        '    command: ["sleep", "3600"]',
        '    stop_signal: SIGKILL',
        '  tool:',
        '    image: busybox',
        '    pid: host',
        '    uts: host',
        '    command: ["sleep", "3600"]',
        '    stop_signal: SIGKILL',
        '',
      ].join('\n'),
    });
    const up = host.cli(['--progress', 'quiet', 'up', '-d'], 120_000);
    if (up.status !== 0) throw new Error(`up failed: ${up.stderr}`);
  }, 180_000);

  afterAll(async () => {
    await host?.dispose();
  }, 120_000);

  const exec = (service: string, ...cmd: string[]) => host.cli(['exec', '-T', service, ...cmd]);

  it('service:X shares X\'s network stack, processes and hostname', () => {
    // db listens on its loopback only: app reaches it there because it is the same loopback
    const got = exec('app', 'wget', '-qO-', 'http://127.0.0.1:8080/');
    expect(got.stdout, got.stderr).toBe('from-db\n');
    expect(exec('app', 'hostname').stdout).toBe('dbhost\n');
    const ps = exec('app', 'ps', '-o', 'comm');
    expect(ps.stdout).toContain('httpd');
    expect(ps.stdout).toContain('sleep');
    // db's own view of the same namespaces sees app's process too
    expect(exec('db', 'ps', '-o', 'comm').stdout).toContain('sleep');
  });

  it('pid: host and uts: host see the host\'s processes and name', () => {
    expect(exec('tool', 'hostname').stdout).toBe(`${hostname()}\n`);
    // the host's PID 1 is not the container's command
    expect(exec('tool', 'cat', '/proc/1/comm').stdout).not.toBe('sleep\n');
    expect(exec('tool', 'sh', '-c', `test -d /proc/${process.pid}`).status).toBe(0);
  });
});
