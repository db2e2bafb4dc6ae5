import { describe, expect, it } from 'vitest';

import { isTscError } from '../../lib/errors.js';
import { DEFAULT_PATH, containerSettings } from './container-settings.js';
import type { ServiceOverrides } from './container-settings.js';
import type { ImageRuntimeConfig } from './media-types.js';

const S = 1_000_000_000;
const sh = (s: string): string[] => ['/bin/sh', '-c', s];

describe('ENTRYPOINT / CMD (the Dockerfile reference table)', () => {
  // Columns: no ENTRYPOINT | ENTRYPOINT shell form | ENTRYPOINT exec form; rows: the CMD forms.
  // Shell forms are stored as ["/bin/sh","-c",...] in the image config, so the argv Docker
  // executes is the concatenation; in the shell-form ENTRYPOINT column the CMD words become
  // the shell's $0 $1, i.e. they are ignored, as the table says.
  const entrypoints: Array<[string, string[] | undefined]> = [
    ['no ENTRYPOINT', undefined],
    ['ENTRYPOINT exec_entry p1_entry', sh('exec_entry p1_entry')],
    ['ENTRYPOINT ["exec_entry","p1_entry"]', ['exec_entry', 'p1_entry']],
  ];
  const cmds: Array<[string, string[] | undefined]> = [
    ['no CMD', undefined],
    ['CMD ["exec_cmd","p1_cmd"]', ['exec_cmd', 'p1_cmd']],
    ['CMD exec_cmd p1_cmd', sh('exec_cmd p1_cmd')],
  ];
  const expected: Record<string, Array<string[] | 'error'>> = {
    'no CMD': ['error', sh('exec_entry p1_entry'), ['exec_entry', 'p1_entry']],
    'CMD ["exec_cmd","p1_cmd"]': [['exec_cmd', 'p1_cmd'], [...sh('exec_entry p1_entry'), 'exec_cmd', 'p1_cmd'], ['exec_entry', 'p1_entry', 'exec_cmd', 'p1_cmd']],
    'CMD exec_cmd p1_cmd': [sh('exec_cmd p1_cmd'), [...sh('exec_entry p1_entry'), ...sh('exec_cmd p1_cmd')], ['exec_entry', 'p1_entry', ...sh('exec_cmd p1_cmd')]],
  };
  for (const [cmdName, Cmd] of cmds) {
    entrypoints.forEach(([epName, Entrypoint], col) => {
      it(`${cmdName} x ${epName}`, () => {
        const want = expected[cmdName]?.[col];
        if (want === 'error') {
          let err: unknown;
          try {
            containerSettings({ Entrypoint, Cmd }, {}, 'service "web"');
          } catch (e) {
            err = e;
          }
          expect(isTscError(err, 'ERR_RUNTIME')).toBe(true);
          expect((err as Error).message).toContain('service "web": no command specified');
        } else {
          expect(containerSettings({ Entrypoint, Cmd }).args).toEqual(want);
        }
      });
    });
  }
});

describe('compose entrypoint / command overrides', () => {
  const image: ImageRuntimeConfig = { Entrypoint: ['docker-entrypoint.sh'], Cmd: ['postgres'] };
  it.each<[string, ServiceOverrides, string[]]>([
    ['nothing set: the image decides', {}, ['docker-entrypoint.sh', 'postgres']],
    ['command replaces Cmd, keeps the entrypoint', { command: ['postgres', '-c', 'fsync=off'] }, ['docker-entrypoint.sh', 'postgres', '-c', 'fsync=off']],
    ['entrypoint resets the image Cmd', { entrypoint: ['/bin/sh'] }, ['/bin/sh']],
    ['entrypoint and command together', { entrypoint: ['/bin/sh', '-c'], command: ['echo hi'] }, ['/bin/sh', '-c', 'echo hi']],
    ['an empty entrypoint with a command runs the command', { entrypoint: [], command: ['postgres'] }, ['postgres']],
    ['a null entrypoint with a command', { entrypoint: null, command: ['id'] }, ['id']],
    ['an empty command keeps the entrypoint alone', { command: [] }, ['docker-entrypoint.sh']],
  ])('%s', (_t, svc, args) => {
    expect(containerSettings(image, svc).args).toEqual(args);
  });

  it('an empty entrypoint and no command is an error', () => {
    expect(() => containerSettings(image, { entrypoint: [] })).toThrow(/no command specified/);
  });
});

describe('the other settings', () => {
  const image: ImageRuntimeConfig = {
    Cmd: ['nginx'],
    Env: ['PATH=/opt/bin:/usr/bin', 'NGINX_VERSION=1.25', 'A=image'],
    WorkingDir: '/srv',
    User: 'nginx',
    ExposedPorts: { '80/tcp': {}, '443/tcp': {} },
    Volumes: { '/var/cache/nginx': {}, '/data/': {} },
    StopSignal: 'SIGQUIT',
    Labels: { maintainer: 'image', 'com.example.a': 'image' },
    Healthcheck: { Test: ['CMD', 'curl', '-f', 'http://localhost/'], Interval: 10 * S, Retries: 5 },
  };

  it('takes the image config when the service sets nothing', () => {
    const s = containerSettings(image);
    expect(s.env).toEqual(['PATH=/opt/bin:/usr/bin', 'NGINX_VERSION=1.25', 'A=image']);
    expect([s.workingDir, s.user, s.stopSignal]).toEqual(['/srv', 'nginx', 'SIGQUIT']);
    expect(s.exposedPorts).toEqual(['80/tcp', '443/tcp']);
    expect(s.anonymousVolumes).toEqual(['/data', '/var/cache/nginx']);
    expect(s.labels).toEqual({ maintainer: 'image', 'com.example.a': 'image' });
    expect(s.healthcheck).toEqual({ test: ['CMD', 'curl', '-f', 'http://localhost/'], interval: 10 * S, timeout: 30 * S, startPeriod: 0, startInterval: 5 * S, retries: 5 });
    expect(s.shell).toEqual(['/bin/sh', '-c']);
  });

  it('lets the service override, as the daemon merges', () => {
    const s = containerSettings(image, {
      environment: { A: 'service', B: 'b', UNSET: null },
      working_dir: '/app',
      user: '1000:1000',
      expose: ['8080', '9000-9001/udp', 80],
      volumeTargets: ['/data'],
      stop_signal: 'SIGTERM',
      labels: { 'com.example.a': 'service' },
      healthcheck: { test: 'wget -q -O- localhost', timeout: 2 * S },
      hostname: 'web-1',
      tty: true,
    });
    expect(s.env).toEqual(['PATH=/opt/bin:/usr/bin', 'HOSTNAME=web-1', 'TERM=xterm', 'A=service', 'B=b', 'NGINX_VERSION=1.25']);
    expect([s.workingDir, s.user, s.stopSignal]).toEqual(['/app', '1000:1000', 'SIGTERM']);
    expect(s.exposedPorts).toEqual(['80/tcp', '443/tcp', '8080/tcp', '9000/udp', '9001/udp']);
    expect(s.anonymousVolumes).toEqual(['/var/cache/nginx']);
    expect(s.labels).toEqual({ maintainer: 'image', 'com.example.a': 'service' });
    expect(s.healthcheck).toEqual({ test: ['CMD-SHELL', 'wget -q -O- localhost'], interval: 10 * S, timeout: 2 * S, startPeriod: 0, startInterval: 5 * S, retries: 5 });
  });

  it('adds the default PATH when nobody sets one, and "/" as the working directory', () => {
    const s = containerSettings({ Cmd: ['sh'] });
    expect(s.env).toEqual([`PATH=${DEFAULT_PATH}`]);
    expect([s.workingDir, s.user, s.stopSignal]).toEqual(['/', '', 'SIGTERM']);
    expect(s.healthcheck).toBeUndefined();
  });

  it.each<[string, ServiceOverrides]>([
    ['disable: true', { healthcheck: { disable: true } }],
    ['test: [NONE]', { healthcheck: { test: ['NONE'] } }],
  ])('turns the image healthcheck off with %s', (_t, svc) => {
    expect(containerSettings(image, svc).healthcheck).toBeUndefined();
  });

  it('refuses a bad exposed port naming the service', () => {
    expect(() => containerSettings(image, { expose: ['http'] }, 'service "web"')).toThrow('service "web": invalid exposed port "http"');
  });
});
