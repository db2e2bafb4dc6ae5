import { describe, expect, it } from 'vitest';

import { TscError } from '../../lib/errors.js';
import { parseDockerfile } from './dockerfile-parse.js';
import { expandStage } from './expand-stage.js';
import { defaultCommand, exposedPorts, foldImageConfig } from './image-config.js';
import type { StageImageConfig } from './image-config.js';

const platform = { os: 'linux', architecture: 'amd64' };
function fold(lines: string[], base: StageImageConfig = {}) {
  const all = parseDockerfile(['FROM base', ...lines].join('\n')).instructions.slice(1);
  const { instructions } = expandStage(all, {
    meta: new Map(),
    baseEnv: base.Env ?? [],
    ctx: { buildArgs: {}, buildPlatform: platform, targetPlatform: platform },
  });
  return foldImageConfig(base, instructions);
}

describe('ENTRYPOINT and CMD (the Docker reference table)', () => {
  it.each<[string, string[], string[]]>([
    ['CMD exec form alone', ['CMD ["p1_cmd", "p1"]'], ['p1_cmd', 'p1']],
    ['CMD shell form alone', ['CMD exec_cmd p1_cmd'], ['/bin/sh', '-c', 'exec_cmd p1_cmd']],
    ['exec ENTRYPOINT + exec CMD', ['ENTRYPOINT ["exec_entry", "p1_entry"]', 'CMD ["p1_cmd", "p1"]'], ['exec_entry', 'p1_entry', 'p1_cmd', 'p1']],
    ['exec ENTRYPOINT + shell CMD', ['ENTRYPOINT ["exec_entry", "p1_entry"]', 'CMD exec_cmd p1_cmd'], ['exec_entry', 'p1_entry', '/bin/sh', '-c', 'exec_cmd p1_cmd']],
    ['shell ENTRYPOINT (CMD becomes ignored arguments of sh)', ['ENTRYPOINT exec_entry p1_entry', 'CMD ["p1_cmd"]'], ['/bin/sh', '-c', 'exec_entry p1_entry', 'p1_cmd']],
    ['SHELL changes the shell of later shell forms', ['SHELL ["/bin/bash", "-eo", "pipefail", "-c"]', 'CMD echo hi'], ['/bin/bash', '-eo', 'pipefail', '-c', 'echo hi']],
    ['CMD before ENTRYPOINT in the same stage is kept', ['CMD ["x"]', 'ENTRYPOINT ["e"]'], ['e', 'x']],
  ])('%s', (_name, lines, want) => {
    expect(defaultCommand(fold(lines).config)).toEqual(want);
  });

  it('clears a CMD inherited from the base image when ENTRYPOINT is set', () => {
    const { config } = fold(['ENTRYPOINT ["/entry"]'], { Cmd: ['nginx'], Entrypoint: ['/docker-entrypoint.sh'] });
    expect([config.Entrypoint, config.Cmd]).toEqual([['/entry'], null]);
    expect(fold(['ENTRYPOINT []'], { Entrypoint: ['/x'], Cmd: ['y'] }).config).toEqual({ Entrypoint: null, Cmd: null });
    expect(fold(['USER 1'], { Entrypoint: ['/x'], Cmd: ['y'] }).config).toEqual({ Entrypoint: ['/x'], Cmd: ['y'], User: '1' });
  });
});

describe('foldImageConfig', () => {
  it('builds the whole config of a stage', () => {
    const result = fold(
      [
        'MAINTAINER ops@example.com',
        'ENV PATH=/app/bin:$PATH LANG=C.UTF-8',
        'LABEL org.opencontainers.image.title="web app" tier=front',
        'WORKDIR app',
        'WORKDIR src/',
        'WORKDIR ../lib',
        'USER app:app',
        'EXPOSE 80 443/TCP 53/udp 7000-7002',
        'VOLUME ["/data"] ',
        'VOLUME /logs /cache',
        'STOPSIGNAL SIGQUIT',
        'HEALTHCHECK --interval=10s --retries=5 CMD wget -q -O- localhost',
        'ONBUILD COPY . /app/src',
        'ONBUILD RUN make',
      ],
      { Env: ['PATH=/usr/bin', 'HOME=/root'], WorkingDir: '/', Labels: { base: 'yes', tier: 'back' }, OnBuild: ['RUN base-trigger'] },
    );
    expect(result).toEqual({
      author: 'ops@example.com',
      baseTriggers: ['RUN base-trigger'],
      config: {
        Env: ['PATH=/app/bin:/usr/bin', 'HOME=/root', 'LANG=C.UTF-8'],
        Labels: { base: 'yes', tier: 'front', 'org.opencontainers.image.title': 'web app' },
        WorkingDir: '/app/lib',
        User: 'app:app',
        ExposedPorts: { '80/tcp': {}, '443/tcp': {}, '53/udp': {}, '7000/tcp': {}, '7001/tcp': {}, '7002/tcp': {} },
        Volumes: { '/data': {}, '/logs': {}, '/cache': {} },
        StopSignal: 'SIGQUIT',
        Healthcheck: {
          Test: ['CMD-SHELL', 'wget -q -O- localhost'],
          Interval: 10e9,
          Timeout: 0,
          StartPeriod: 0,
          StartInterval: 0,
          Retries: 5,
        },
        OnBuild: ['COPY . /app/src', 'RUN make'],
      },
    });
  });

  it('lets HEALTHCHECK NONE turn off an inherited check, and does not inherit ONBUILD', () => {
    const { config, baseTriggers } = fold(['HEALTHCHECK NONE'], { Healthcheck: { Test: ['CMD', 'x'] }, OnBuild: ['RUN a'] });
    expect(config).toEqual({ Healthcheck: { Test: ['NONE'] } });
    expect(baseTriggers).toEqual(['RUN a']);
  });

  it.each([
    ['80/xtp', 'Dockerfile:3: EXPOSE: Invalid proto: xtp'],
    ['http', 'Dockerfile:3: EXPOSE: Invalid containerPort: http'],
    ['9-1', 'Dockerfile:3: EXPOSE: Invalid containerPort: 9-1'],
  ])('EXPOSE %s is an error', (spec, msg) => {
    let err: unknown;
    try {
      exposedPorts(spec, { file: 'Dockerfile', line: 3 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TscError);
    expect((err as TscError).format()).toBe(msg);
  });

  it('keeps the container port of an ip:host:container spec', () => {
    expect(exposedPorts('127.0.0.1:8080:80/udp', { file: 'Dockerfile', line: 1 })).toEqual(['80/udp']);
  });
});
