import { describe, expect, it } from 'vitest';

import type { AgentApi, BuildProgress, BuildSpec } from '../agent/api/types.js';
import type { ProgressEvent } from '../lib/progress.js';
import type { Project, ServiceConfig } from '../schema/project.js';
import { buildServices, serviceBuildSpec, serviceImageName } from './build-services.js';

const project = (services: Record<string, Partial<ServiceConfig>>): Project =>
  ({ name: 'shop', services: Object.fromEntries(Object.entries(services).map(([name, s]) => [name, { name, ...s }])) }) as unknown as Project;

describe('a service build', () => {
  it('names the image as compose v2 does, and adds build.tags', () => {
    const p = project({ web: { build: { context: '/src/web', tags: ['reg.local/web:1'] } as ServiceConfig['build'] }, api: { image: 'api:2', build: { context: '/src/api' } } });
    expect(serviceImageName(p, p.services['web'] as ServiceConfig)).toBe('shop-web');
    expect(serviceBuildSpec(p, p.services['web'] as ServiceConfig)?.tags).toEqual(['shop-web', 'reg.local/web:1']);
    expect(serviceBuildSpec(p, p.services['api'] as ServiceConfig)?.tags).toEqual(['api:2']);
  });

  it('carries every build: key the builder honours, --build-arg over build.args', () => {
    const p = project({
      web: {
        build: {
          context: '/src/web',
          dockerfile: 'Dockerfile.dev',
          args: { A: '1', B: '2', GONE: null },
          labels: { team: 'x' },
          target: 'prod',
          no_cache: true,
          network: 'none',
          shm_size: '64m',
          extra_hosts: ['db=10.0.0.5'],
        } as ServiceConfig['build'],
      },
    });
    expect(serviceBuildSpec(p, p.services['web'] as ServiceConfig, { buildArgs: { B: 'cli' }, pull: true })).toEqual({
      context: '/src/web',
      dockerfile: 'Dockerfile.dev',
      tags: ['shop-web'],
      buildArgs: { A: '1', B: 'cli' },
      labels: { team: 'x' },
      target: 'prod',
      noCache: true,
      pull: true,
      network: 'none',
      shmSizeBytes: 64 * 1024 * 1024,
      extraHosts: ['db:10.0.0.5'],
    });
  });

  it('refuses a remote context clearly, and builds only services that have build:', async () => {
    const p = project({ web: { build: { context: 'https://github.com/x/y.git' } }, db: { image: 'postgres' } });
    expect(() => serviceBuildSpec(p, p.services['web'] as ServiceConfig)).toThrow(/remote build context .* not supported offline/);
    const specs: BuildSpec[] = [];
    const events: ProgressEvent[] = [];
    const agent = {
      buildImage: async (spec: BuildSpec, onProgress?: (x: BuildProgress) => void) => {
        specs.push(spec);
        onProgress?.({ step: '[stage-0 2/2] RUN make', status: 'output', text: 'compiling\n' });
        onProgress?.({ step: '[stage-0 2/2] RUN make', status: 'cached' });
        return { id: 'sha256:abc', tags: spec.tags, steps: 2, cached: 1 };
      },
    } as unknown as AgentApi;
    const ok = project({ web: { build: { context: '/src/web' } }, db: { image: 'postgres' } });
    const ids = await buildServices(agent, ok, [], {}, { emit: (e) => events.push(e), close: async () => {} });
    expect([...ids]).toEqual([['web', 'sha256:abc']]);
    expect(specs.map((s) => s.tags)).toEqual([['shop-web']]);
    expect(events.map((e) => [e.id, e.status, e.text ?? ''])).toEqual([
      ['Image shop-web', 'Building', ''],
      ['web [stage-0 2/2] RUN make', 'Building', 'compiling'],
      ['web [stage-0 2/2] RUN make', 'CACHED', ''],
      ['Image shop-web', 'Built', ''],
    ]);
    await expect(buildServices(agent, ok, ['nope'], {}, { emit() {}, close: async () => {} })).rejects.toThrow(/no such service: nope/);
  });
});
