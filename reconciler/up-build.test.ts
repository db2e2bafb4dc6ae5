import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { containerSpec, fakeNodeAgent } from '../agent/testing/fakes.js';
import { quietReporter } from '../cli/progress/plain.js';
import type { DesiredProject, DesiredServiceSpec } from './desired.js';
import { LABEL } from './labels.js';
import { DEFAULT_UP, up } from './up.js';

type Agent = Awaited<ReturnType<typeof fakeNodeAgent>>;

function project(): DesiredProject {
  const s: DesiredServiceSpec = {
    name: 'app',
    scale: 1,
    configHash: 'h1',
    image: 'p-app',
    pullPolicy: 'missing',
    dependsOn: [],
    container: (n) => containerSpec(`p-app-${n}`, { image: 'p-app', labels: { [LABEL.project]: 'p', [LABEL.service]: 'app', [LABEL.containerNumber]: String(n), [LABEL.oneoff]: 'False', [LABEL.configHash]: 'h1' } }),
  };
  return { name: 'p', warnings: [], networks: [], volumes: [], services: [s] };
}

describe('up of a service that builds its image', () => {
  let agent: Agent;
  beforeEach(async () => {
    agent = await fakeNodeAgent();
  });
  afterEach(async () => {
    await agent.dispose();
  });

  it('builds a missing image instead of pulling it, and replaces containers of an older build', async () => {
    const built: string[] = [];
    let nextId = 'sha256:img';
    const build = (always: boolean) => ({
      services: new Set(['app']),
      always,
      run: async (service: string) => {
        built.push(service);
        return nextId;
      },
    });
    await up(agent.api, project(), { ...DEFAULT_UP, build: build(false) }, quietReporter());
    expect(built).toEqual(['app']); // the fake store lists no image: it had to be built
    const first = (await agent.api.listContainers({ all: true }))[0];
    expect(first?.imageId).toBe('sha256:img');

    // The same image again: the container stays.
    await up(agent.api, project(), { ...DEFAULT_UP, build: build(true) }, quietReporter());
    expect((await agent.api.listContainers({ all: true })).map((c) => c.id)).toEqual([first?.id]);

    // A rebuild that gives another image ID recreates it (the fake resolves every name to
    // sha256:img, so the new container reports that: what matters is that it is new).
    nextId = 'sha256:rebuilt';
    await up(agent.api, project(), { ...DEFAULT_UP, build: build(true) }, quietReporter());
    const after = await agent.api.listContainers({ all: true });
    expect(after.length).toBe(1);
    expect(after[0]?.id).not.toBe(first?.id);
    expect(built).toEqual(['app', 'app', 'app']);

    // Without the build hook (up --no-build) nothing is built.
    await up(agent.api, project(), { ...DEFAULT_UP }, quietReporter());
    expect(built.length).toBe(3);
  });
});
