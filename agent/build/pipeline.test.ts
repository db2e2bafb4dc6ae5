import { describe, expect, it } from 'vitest';

import { parseDockerfile } from './dockerfile-parse.js';
import { expandStage } from './expand-stage.js';
import { defaultCommand, foldImageConfig } from './image-config.js';
import { buildStageGraph, stagesForTarget } from './stages.js';

const dockerfile = `# syntax=docker/dockerfile:1
ARG NODE=20
FROM node:\${NODE}-alpine AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci

FROM deps AS build
ARG NODE
ENV NODE_ENV=production
COPY . .
RUN npm run build

FROM deps AS test
RUN npm test

FROM nginx:1.25-alpine
ARG VERSION=dev
LABEL org.opencontainers.image.version=$VERSION
COPY --from=build /app/dist /usr/share/nginx/html
EXPOSE 80
HEALTHCHECK --interval=5s CMD wget -q -O- http://localhost/ || exit 1
CMD ["nginx", "-g", "daemon off;"]
`;

describe('the pure pipeline on a multi-stage Dockerfile', () => {
  it('plans only the stages the final image needs and computes its config', () => {
    const df = parseDockerfile(dockerfile);
    const ctx = {
      buildArgs: { VERSION: '1.2.3' },
      buildPlatform: { os: 'linux', architecture: 'amd64' },
      targetPlatform: { os: 'linux', architecture: 'amd64' },
    };
    const graph = buildStageGraph(df, ctx);
    const plan = stagesForTarget(graph);
    expect(plan.map((s) => [s.index, s.name ?? null, s.from.image])).toEqual([
      [0, 'deps', 'node:20-alpine'],
      [1, 'build', 'deps'],
      [3, null, 'nginx:1.25-alpine'],
    ]);

    const build = expandStage(graph.stages[1]?.instructions ?? [], { meta: graph.meta, baseEnv: ['PATH=/usr/bin'], ctx });
    expect(build.instructions.find((i) => i.kind === 'RUN')).toMatchObject({ argEnv: [{ key: 'NODE', value: '20' }] });
    expect(build.env).toEqual(['PATH=/usr/bin', 'NODE_ENV=production']);

    const final = graph.stages[3];
    const base = { Env: ['PATH=/usr/sbin:/usr/bin'], Cmd: ['nginx', '-g', 'daemon off;'], StopSignal: 'SIGQUIT', ExposedPorts: { '80/tcp': {} } };
    const expanded = expandStage(final?.instructions ?? [], { meta: graph.meta, baseEnv: base.Env, ctx });
    const { config } = foldImageConfig(base, expanded.instructions);
    expect(config).toEqual({
      Env: ['PATH=/usr/sbin:/usr/bin'],
      Cmd: ['nginx', '-g', 'daemon off;'],
      StopSignal: 'SIGQUIT',
      ExposedPorts: { '80/tcp': {} },
      Labels: { 'org.opencontainers.image.version': '1.2.3' },
      Healthcheck: {
        Test: ['CMD-SHELL', 'wget -q -O- http://localhost/ || exit 1'],
        Interval: 5e9,
        Timeout: 0,
        StartPeriod: 0,
        StartInterval: 0,
        Retries: 0,
      },
    });
    expect(defaultCommand(config)).toEqual(['nginx', '-g', 'daemon off;']);
    expect(stagesForTarget(graph, 'test').map((s) => s.name)).toEqual(['deps', 'test']);
  });
});
