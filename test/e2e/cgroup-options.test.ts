/**
 * Compose's cgroup options on the real runtime, checked where the kernel shows them (cgroup v1
 * files of the container's cgroup): `cgroup_parent`, `oom_kill_disable`, per-device
 * `blkio_config` limits, `device_cgroup_rules`, and a private cgroup namespace with `cgroup: private`.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile, rmdir, stat } from 'node:fs/promises';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createE2eHost, type E2eHost } from '../support/e2e-harness.js';
import { command, describePrivileged, path, root } from '../support/privileged.js';

/** A block device of this machine to put limits on (high enough never to slow the container down). */
function someDisk(): string {
  const names = existsSync('/sys/block') ? readdirSync('/sys/block').filter((n) => !/^(loop|ram)/.test(n)).sort() : [];
  return `/dev/${names.find((n) => existsSync(`/dev/${n}`)) ?? 'no-block-device'}`;
}
const DISK = someDisk();

describePrivileged('cgroup options', [root, command('nft'), command('ip'), command('busybox'), command('tar'), path('/sys/fs/cgroup/blkio'), path(DISK)], () => {
  let host: E2eHost;
  let id = '';
  let devno = '';
  const parent = `tsc-e2e-parent-${process.pid}`;

  beforeAll(async () => {
    const st = await stat(DISK);
    devno = `${Math.floor(st.rdev / 256) & 0xfff}:${st.rdev & 0xff}`;
    host = await createE2eHost('cgopt', {
      'compose.yaml': [
        'services:',
        '  app:',
        '    image: busybox',
        '    command: ["sleep", "3600"]',
        '    stop_signal: SIGKILL',
        `    cgroup_parent: ${parent}`,
        '    cgroup: private',
        '    oom_kill_disable: true',
        '    mem_limit: 64m',
        '    device_cgroup_rules: ["c 1:9 r"]',
        '    blkio_config:',
        `      device_read_bps: [{path: ${DISK}, rate: 1gb}]`,
        `      device_write_iops: [{path: ${DISK}, rate: 100000}]`,
        '',
      ].join('\n'),
    });
    const up = host.cli(['--progress', 'quiet', 'up', '-d'], 120_000);
    if (up.status !== 0) throw new Error(`up failed: ${up.stderr}`);
    id = (JSON.parse(host.cli(['ps', '--format', 'json', 'app']).stdout.trim() || '{}') as { ID?: string }).ID ?? '';
  }, 180_000);

  afterAll(async () => {
    await host?.dispose();
    // the parent is the user's, as with Docker: made on demand, left by down; the test made it
    for (const c of readdirSync('/sys/fs/cgroup')) await rmdir(`/sys/fs/cgroup/${c}/${parent}`).catch(() => undefined);
  }, 120_000);

  const cg = (controller: string, file: string) => readFile(`/sys/fs/cgroup/${controller}/${parent}/${id}/${file}`, 'utf8');

  it('puts the container under cgroup_parent with its limits', async () => {
    expect(id).toMatch(/^[a-f0-9]{64}$/);
    expect(await cg('memory', 'memory.oom_control')).toContain('oom_kill_disable 1');
    expect((await cg('blkio', 'blkio.throttle.read_bps_device')).trim()).toBe(`${devno} 1073741824`);
    expect((await cg('blkio', 'blkio.throttle.write_iops_device')).trim()).toBe(`${devno} 100000`);
    expect(await cg('devices', 'devices.list')).toContain('c 1:9 r');
  });

  it('gives it a cgroup namespace of its own', async () => {
    // in a private cgroup namespace the container sees its own cgroup as the root
    const inside = host.cli(['exec', '-T', 'app', 'cat', '/proc/self/cgroup']).stdout;
    expect(inside).toMatch(/^\d+:memory:\/$/m);
  });

  it('down removes the container\'s cgroup from under the parent', async () => {
    const down = host.cli(['--progress', 'quiet', 'down'], 120_000);
    expect(down.status, down.stderr).toBe(0);
    for (const c of ['memory', 'blkio', 'devices', 'pids', 'cpu']) expect(existsSync(`/sys/fs/cgroup/${c}/${parent}/${id}`)).toBe(false);
  }, 120_000);
});

