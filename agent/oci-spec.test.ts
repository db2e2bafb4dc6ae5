import { describe, expect, it } from 'vitest';

import { containerSettings } from './images/container-settings.js';
import { buildOciSpec, parseDeviceCgroupRule, type OciSpecInput } from './oci-spec.js';
import { ANNOTATIONS, DEFAULT_MASKED_PATHS } from './runtime/spec.js';
import { containerSpec } from './testing/fakes.js';

function input(extra: Partial<OciSpecInput['spec']> = {}): OciSpecInput {
  const spec = containerSpec('p-web-1', extra);
  return {
    containerId: 'abcdef0123456789',
    spec,
    settings: containerSettings({ Cmd: ['httpd', '-f'], Env: ['PATH=/bin'] }, { environment: spec.env }),
    rootfs: '/rootfs',
    netns: '/run/netns/tsc-abcdef012345',
    user: { uid: 1000, gid: 1000, additionalGids: [5] },
    volumePaths: { p_data: '/var/lib/tsc-compose/volumes/p_data/_data' },
    files: [{ target: '/etc/hosts', source: '/state/files/hosts', readOnly: false }],
    logPath: '/state/c-json.log',
    cgroupParent: '/tsc-compose',
  };
}

describe('buildOciSpec', () => {
  it('starts from Docker\'s defaults and joins the container\'s network namespace', () => {
    const s = buildOciSpec(input());
    expect(s.process.args).toEqual(['httpd', '-f']);
    expect(s.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [5] });
    expect(s.process.capabilities?.bounding).toHaveLength(14);
    expect(s.linux?.maskedPaths).toEqual([...DEFAULT_MASKED_PATHS]);
    expect(s.linux?.namespaces).toContainEqual({ type: 'network', path: '/run/netns/tsc-abcdef012345' });
    expect(s.linux?.cgroupsPath).toBe('/tsc-compose/abcdef0123456789');
    expect(s.hostname).toBe('abcdef012345');
    expect(s.annotations?.[ANNOTATIONS.logPath]).toBe('/state/c-json.log');
    expect(s.mounts).toContainEqual({ destination: '/etc/hosts', type: 'bind', source: '/state/files/hosts', options: ['rbind', 'rw'] });
  });

  it('applies cap_add, cap_drop, privileged and no-new-privileges', () => {
    const added = buildOciSpec(input({ capAdd: ['NET_ADMIN'], capDrop: ['CHOWN'] })).process.capabilities?.bounding ?? [];
    expect(added).toContain('CAP_NET_ADMIN');
    expect(added).not.toContain('CAP_CHOWN');
    const priv = buildOciSpec(input({ privileged: true }));
    expect(priv.process.capabilities?.bounding).toContain('CAP_SYS_ADMIN');
    expect(priv.linux?.maskedPaths).toEqual([]);
    expect(buildOciSpec(input({ securityOpt: ['no-new-privileges:true'] })).process.noNewPrivileges).toBe(true);
  });

  it('turns volumes, binds and tmpfs into mounts, and resources into cgroup limits', () => {
    const s = buildOciSpec(
      input({
        mounts: [
          { type: 'volume', source: 'p_data', target: '/data', readOnly: false },
          { type: 'bind', source: '/srv/html', target: '/www', readOnly: true, propagation: 'rslave' },
          { type: 'tmpfs', target: '/run', sizeBytes: 1048576, mode: 0o755 },
        ],
        resources: { memoryBytes: 536870912, nanoCpus: 1_500_000_000, pidsLimit: 100 },
        shmSizeBytes: 128 * 1024 * 1024,
        ulimits: [{ name: 'nofile', soft: 1024, hard: 2048 }],
      }),
    );
    expect(s.mounts).toContainEqual({ destination: '/data', type: 'bind', source: '/var/lib/tsc-compose/volumes/p_data/_data', options: ['rbind', 'rw'] });
    expect(s.mounts).toContainEqual({ destination: '/www', type: 'bind', source: '/srv/html', options: ['rbind', 'ro', 'rslave'] });
    expect(s.mounts).toContainEqual({ destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=1048576', 'mode=755'] });
    expect(s.mounts?.find((m) => m.destination === '/dev/shm')?.options).toContain('size=131072k');
    expect(s.linux?.resources?.memory).toEqual({ limit: 536870912 });
    expect(s.linux?.resources?.cpu).toEqual({ quota: 150000, period: 100000 });
    expect(s.linux?.resources?.pids).toEqual({ limit: 100 });
    expect(s.process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 }]);
  });

  it('shares the host network for network_mode: host', () => {
    const s = buildOciSpec({ ...input({ networkMode: 'host' }), netns: undefined });
    expect(s.linux?.namespaces?.some((n) => n.type === 'network')).toBe(false);
  });

  it('leaves out the namespaces shared with the host and joins another container\'s by path', () => {
    const host = buildOciSpec(input({ pidMode: 'host', ipcMode: 'host', utsMode: 'host' }));
    expect(host.linux?.namespaces?.map((n) => n.type).sort()).toEqual(['mount', 'network']);
    // a private UTS namespace is what allows a hostname; the host's keeps its own
    expect(host.hostname).toBeUndefined();
    const joined = buildOciSpec({ ...input({ pidMode: 'container:p-db-1', ipcMode: 'container:p-db-1' }), joinNamespaces: { pid: '/proc/42/ns/pid', ipc: '/proc/42/ns/ipc' } });
    expect(joined.linux?.namespaces).toContainEqual({ type: 'pid', path: '/proc/42/ns/pid' });
    expect(joined.linux?.namespaces).toContainEqual({ type: 'ipc', path: '/proc/42/ns/ipc' });
    expect(joined.linux?.namespaces).toContainEqual({ type: 'uts' });
    expect(joined.hostname).toBe('abcdef012345');
  });

  it('maps cgroup options: parent, oom killer, realtime CPU, per-device blkio, device rules, cgroup namespace', () => {
    const s = buildOciSpec({
      ...input({
        cgroupParent: '/custom/parent/',
        cgroupnsMode: 'private',
        deviceCgroupRules: ['c 1:3 mr', 'b *:* rwm'],
        resources: {
          oomKillDisable: true,
          cpuRealtimeRuntimeUs: 400_000,
          cpuRealtimePeriodUs: 1_000_000,
          blkioWeightDevice: [{ path: '/dev/vda', weight: 400 }],
          blkioThrottle: { readBps: [{ path: '/dev/vda', rate: 12_582_912 }], writeIops: [{ path: '/dev/vda', rate: 30 }] },
        },
      }),
      deviceNumbers: { '/dev/vda': { major: 254, minor: 0 } },
    });
    expect(s.linux?.cgroupsPath).toBe('/custom/parent/abcdef0123456789');
    expect(s.linux?.namespaces).toContainEqual({ type: 'cgroup' });
    expect(s.linux?.resources?.memory?.disableOOMKiller).toBe(true);
    expect(s.linux?.resources?.cpu).toMatchObject({ realtimeRuntime: 400_000, realtimePeriod: 1_000_000 });
    expect(s.linux?.resources?.blockIO).toEqual({
      weightDevice: [{ major: 254, minor: 0, weight: 400 }],
      throttleReadBpsDevice: [{ major: 254, minor: 0, rate: 12_582_912 }],
      throttleWriteIOPSDevice: [{ major: 254, minor: 0, rate: 30 }],
    });
    expect(s.linux?.resources?.devices?.slice(-2)).toEqual([
      { allow: true, type: 'c', major: 1, minor: 3, access: 'mr' },
      { allow: true, type: 'b', access: 'rwm' },
    ]);
    expect(() => parseDeviceCgroupRule('c 1-3 mr')).toThrow('invalid device cgroup rule "c 1-3 mr": expected TYPE MAJOR:MINOR ACCESS, e.g. "c 1:3 mr"');
  });

  it('keeps stdin open through the monitor for stdin_open and run -i, with a terminal or not', () => {
    expect(buildOciSpec(input()).annotations?.[ANNOTATIONS.stdin]).toBeUndefined();
    expect(buildOciSpec(input({ openStdin: true })).annotations?.[ANNOTATIONS.stdin]).toBe('true');
    expect(buildOciSpec(input({ openStdin: true, tty: true })).annotations?.[ANNOTATIONS.stdin]).toBe('true');
    expect(buildOciSpec(input({ tty: true })).annotations?.[ANNOTATIONS.stdin]).toBeUndefined();
  });

  it("sizes a terminal from the start with the caller's console size, and only a terminal", () => {
    expect(buildOciSpec(input({ tty: true, consoleSize: { rows: 40, cols: 120 } })).process?.consoleSize).toEqual({ height: 40, width: 120 });
    expect(buildOciSpec(input({ consoleSize: { rows: 40, cols: 120 } })).process?.consoleSize).toBeUndefined();
    expect(buildOciSpec(input({ tty: true })).process?.consoleSize).toBeUndefined();
  });
});

