/**
 * Lifecycle hooks, volumes_from, cp, top and stats on one host, as a user runs them, on the
 * bundled runtime: a hook writes into a named volume another service gets through
 * volumes_from (read-only), cp goes both ways and cannot be led out of the container by a
 * link inside it, top lists the container's processes and stats reads its cgroup.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { readFile, symlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createE2eHost, type E2eHost } from '../support/e2e-harness.js';
import { command, describePrivileged, root } from '../support/privileged.js';

describePrivileged('hooks, volumes_from, cp, top and stats on one host', [root, command('nft'), command('ip'), command('busybox'), command('tar')], () => {
  let host: E2eHost;
  let project: string;
  const cli = (args: string[]) => host.cli(args);
  const ok = (args: string[]) => {
    const r = cli(args);
    expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    host = await createE2eHost('tools', {
      'compose.yaml': [
        'services:',
        '  data:',
        '    image: busybox',
        '    command: ["sleep", "600"]',
        '    stop_signal: SIGKILL',
        '    volumes: ["store:/store"]',
        '    post_start:',
        '      - command: sh -c "echo started $$WHO > /store/hook; mkdir -p -m 1777 /store/pub"',
        '        environment: { WHO: hook }',
        '      - command: ["sh", "-c", "id -u > /store/pub/hook-user"]',
        '        user: nobody',
        '    pre_stop:',
        '      - command: ["sh", "-c", "echo stopping >> /store/hook"]',
        '  reader:',
        '    image: busybox',
        '    command: ["sleep", "600"]',
        '    stop_signal: SIGKILL',
        '    volumes_from: ["data:ro"]',
        '  plain:',
        '    image: busybox',
        '    profiles: [oneoff]',
        '  broken:',
        '    image: busybox',
        '    command: ["sleep", "600"]',
        '    stop_signal: SIGKILL',
        '    profiles: [broken]',
        '    post_start:',
        '      - command: ["sh", "-c", "echo no luck; exit 3"]',
        'volumes:',
        '  store: {}',
        '',
      ].join('\n'),
    });
    project = host.project;
  }, 180_000);

  afterAll(async () => {
    host.cli(['--profile', 'broken', 'down', '-v', '-t', '0']);
    await host.dispose();
  }, 120_000);

  it('runs post_start hooks, with their environment and user, before up returns', () => {
    ok(['--progress', 'quiet', 'up', '-d']);
    expect(ok(['exec', 'reader', 'cat', '/store/hook'])).toBe('started hook\n');
    expect(ok(['exec', 'reader', 'cat', '/store/pub/hook-user'])).toBe('65534\n');
    // volumes_from with :ro: the volume is there, read-only.
    const write = cli(['exec', 'reader', 'touch', '/store/x']);
    expect(write.status).not.toBe(0);
    expect(write.stderr).toContain('Read-only file system');
  }, 180_000);

  it('fails up when a post_start hook fails, naming the hook', () => {
    const r = cli(['--progress', 'plain', '--profile', 'broken', 'up', '-d', 'broken']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`${project}-broken-1: post_start hook 0 (sh -c echo no luck; exit 3) exited with status 3: no luck`);
    // As with docker compose, the container itself keeps running.
    const ps = ok(['ps', '--format', 'json', 'broken']).trim().split('\n').map((l) => JSON.parse(l) as { Name: string; State: string });
    expect(ps.map((c) => [c.Name, c.State])).toEqual([[`${project}-broken-1`, 'running']]);
  }, 120_000);

  it('copies files both ways, never out of the container through a link inside it', async () => {
    writeFileSync(join(host.dir, 'proj', 'in.txt'), 'from the host\n');
    ok(['cp', './in.txt', 'data:/store/']);
    expect(ok(['exec', 'reader', 'cat', '/store/in.txt'])).toBe('from the host\n');
    expect(ok(['exec', 'data', 'stat', '-c', '%u', '/store/in.txt'])).toBe('0\n');
    ok(['cp', 'reader:/store/hook', './out.txt']);
    expect(await readFile(join(host.dir, 'proj', 'out.txt'), 'utf8')).toBe('started hook\n');
    // A directory, into an existing one under its name.
    ok(['exec', 'data', 'sh', '-c', 'mkdir -p /srv/tree/sub && echo deep > /srv/tree/sub/f']);
    ok(['cp', 'data:/srv/tree', '.']);
    expect(readFileSync(join(host.dir, 'proj', 'tree/sub/f'), 'utf8')).toBe('deep\n');
    // A link followed (-L) means the container's path, absolute or climbing; without -L it is copied as a link.
    ok(['exec', 'data', 'ln', '-s', '/etc/hostname', '/srv/hn']);
    ok(['exec', 'data', 'ln', '-s', '../../../../../../etc/hostname', '/srv/up']);
    const inside = ok(['exec', 'data', 'cat', '/etc/hostname']);
    expect(inside.trim()).not.toBe(hostname());
    ok(['cp', '-L', 'data:/srv/hn', './hn']);
    ok(['cp', '-L', 'data:/srv/up', './up']);
    ok(['cp', 'data:/srv/up', './up-link']);
    expect(readlinkSync(join(host.dir, 'proj', 'up-link'))).toBe('../../../../../../etc/hostname');
    expect(readFileSync(join(host.dir, 'proj', 'hn'), 'utf8')).toBe(inside);
    expect(readFileSync(join(host.dir, 'proj', 'up'), 'utf8')).toBe(inside);
    // Host to container through a link in the container: it lands inside.
    ok(['exec', 'data', 'ln', '-s', '/', '/srv/slash']);
    await symlink('in.txt', join(host.dir, 'proj', 'link.txt'));
    ok(['cp', '-L', './link.txt', 'data:/srv/slash/tmp/']);
    expect(ok(['exec', 'data', 'cat', '/tmp/link.txt'])).toBe('from the host\n');
  }, 180_000);

  it('lists the processes of each container as docker compose top does', () => {
    const out = ok(['top', 'data']);
    const lines = out.split('\n');
    expect(lines[0]).toBe(`${project}-data-1`);
    expect(lines[1]?.split(/\s+/)).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    const sleep = lines.find((l) => l.endsWith('sleep 600'));
    expect(sleep?.split(/\s+/)[0]).toBe('root');
    expect(Number(sleep?.split(/\s+/)[1])).toBeGreaterThan(1); // the host's pid, as docker top shows it
  }, 60_000);

  it('reads stats from the cgroup, as a table and as json', () => {
    const rows = ok(['stats', '--no-stream', '--format', 'json', 'data', 'reader'])
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { Name: string; PIDs: string; MemUsage: string; CPUPerc: string; NetIO: string });
    expect(rows.map((r) => r.Name).sort()).toEqual([`${project}-data-1`, `${project}-reader-1`]);
    for (const r of rows) {
      expect(Number(r.PIDs)).toBeGreaterThanOrEqual(1);
      expect(r.MemUsage).toMatch(/^[\d.]+(B|KiB|MiB|GiB) \/ [\d.]+(B|KiB|MiB|GiB)$/);
      expect(r.CPUPerc).toMatch(/^\d+\.\d\d%$/);
    }
    const table = ok(['stats', '--no-stream', 'data']).split('\n');
    expect(table[0]).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    expect(table[1]).toContain(`${project}-data-1`);
  }, 60_000);

  it('pipes stdin into exec and passes the exit code on', () => {
    const r = host.cli(['exec', '-T', 'data', 'sh', '-c', 'tr a-z A-Z; echo err >&2; exit 5'], 60_000, 'piped in\n');
    expect(r.stdout).toBe('PIPED IN\n');
    expect(r.stderr).toBe('err\n');
    expect(r.status).toBe(5);
  }, 60_000);

  it('pipes stdin into a one-off run container', () => {
    const r = host.cli(['--progress', 'quiet', 'run', '--rm', 'plain', 'sh', '-c', 'tr a-z A-Z; exit 4'], 60_000, 'into run\n');
    expect(r.stdout, r.stderr).toBe('INTO RUN\n');
    expect(r.status).toBe(4);
  }, 60_000);

  it('gives exec a terminal when ours is one, and none with -T', () => {
    const { argv, env, cwd } = host.command;
    const underPty = (args: string[]) => {
      const line = [...argv, ...args].map((a) => `'${a}'`).join(' ');
      return spawnSync('script', ['-qec', line, '/dev/null'], { env, cwd, encoding: 'utf8', timeout: 60_000, input: '' });
    };
    const tty = underPty(['exec', 'data', 'sh', '-c', 'tty; exit 3']);
    // (the container's terminal and script's each turn \n into \r\n)
    expect(tty.stdout).toMatch(/\/dev\/pts\/\d+\r\r?\n/);
    expect(tty.status).toBe(3);
    const none = underPty(['exec', '-T', 'data', 'sh', '-c', 'tty; exit 0']);
    expect(none.stdout).toMatch(/not a tty/);
    // Our terminal's size is the process's.
    const line = [...argv, 'exec', 'data', 'stty', 'size'].map((a) => `'${a}'`).join(' ');
    const sized = spawnSync('script', ['-qec', `stty rows 33 cols 77; exec ${line}`, '/dev/null'], { env, cwd, encoding: 'utf8', timeout: 60_000, input: '' });
    expect(sized.stdout).toMatch(/(^|\n)\W*33 77\r/);
  }, 60_000);

  it('runs pre_stop hooks before the stop signal', () => {
    ok(['--progress', 'quiet', 'stop', 'data']);
    expect(ok(['exec', 'reader', 'cat', '/store/hook'])).toBe('started hook\nstopping\n');
  }, 60_000);

  it('copies from and to a stopped container\'s own files, and refuses a path on its volumes', () => {
    ok(['cp', 'data:/srv/tree/sub/f', './stopped-f']);
    expect(readFileSync(join(host.dir, 'proj', 'stopped-f'), 'utf8')).toBe('deep\n');
    ok(['cp', './in.txt', 'data:/srv/while-stopped.txt']);
    const onVolume = cli(['cp', 'data:/store/hook', './nope']);
    expect(onVolume.status).not.toBe(0);
    expect(onVolume.stderr).toContain('/store/hook is on a mount (/store)');
    ok(['--progress', 'quiet', 'start', 'data']);
    expect(ok(['exec', 'data', 'cat', '/srv/while-stopped.txt'])).toBe('from the host\n');
  }, 60_000);
});
