import { PassThrough } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { fakeNodeAgent } from '../../../agent/testing/fakes.js';
import { loadModel } from '../../../schema/tests/helpers.js';
import type { ComposeContext, LoadedProject } from '../../compose-context.js';
import { quietReporter } from '../../progress/plain.js';
import { upCommand } from './up.js';
import { rebuildService, watchCommand } from './watch.js';

const yaml = `
name: demo
services:
  web:
    image: busybox
    build: .
    depends_on: [db]
    develop:
      watch:
        - { path: ./package.json, action: rebuild }
  db:
    image: busybox
`;

describe('watch commands', () => {
  let agent: Awaited<ReturnType<typeof fakeNodeAgent>>;
  let ctx: ComposeContext;
  let loaded: LoadedProject;
  beforeEach(async () => {
    agent = await fakeNodeAgent();
    const { project } = loadModel(yaml, { projectName: 'demo' });
    loaded = { project, configFiles: ['/work/project/compose.yaml'], environment: {}, warnings: [] };
    ctx = {
      load: async () => loaded,
      projectName: async () => 'demo',
      agent: async () => agent.api,
      reporter: () => quietReporter(),
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      desiredOptions: () => ({}),
    };
  });
  afterEach(async () => {
    await agent.dispose();
  });

  it('rebuildService builds, then recreates only that service: its dependency keeps running', async () => {
    // --no-build: the fake agent has no builder, and `web` has an image already
    expect(await upCommand(ctx, [], { detach: true, scale: [], build: false })).toBe(0);
    const ids = async () => Object.fromEntries((await agent.api.listContainers()).map((c) => [c.name, c.id]));
    const before = await ids();
    const built: string[][] = [];
    await rebuildService(ctx, loaded, 'web', { build: async (_c, _l, services) => void built.push([...services]) });
    const after = await ids();
    expect(built).toEqual([['web']]);
    expect(after['demo-db-1']).toBe(before['demo-db-1']);
    expect(after['demo-web-1']).toBeDefined();
    expect(after['demo-web-1']).not.toBe(before['demo-web-1']);
  });

  it('rebuildService reports a builder failure and leaves the running container alone', async () => {
    // --no-build: the fake agent has no builder, and `web` has an image already
    expect(await upCommand(ctx, [], { detach: true, scale: [], build: false })).toBe(0);
    const before = (await agent.api.listContainers()).map((c) => c.id).sort();
    await expect(rebuildService(ctx, loaded, 'web')).rejects.toThrow('this agent cannot build images');
    expect((await agent.api.listContainers()).map((c) => c.id).sort()).toEqual(before);
  });

  it('refuses a bad rule before starting anything', async () => {
    const bad = loadModel('name: demo\nservices:\n  web:\n    image: busybox\n    develop:\n      watch:\n        - { path: ./src, action: sync }\n', { projectName: 'demo' });
    ctx.load = async () => ({ ...loaded, project: bad.project });
    await expect(watchCommand(ctx, [], {})).rejects.toThrow('action "sync" needs a target');
    await expect(upCommand(ctx, [], { scale: [], watch: true })).rejects.toThrow('action "sync" needs a target');
    expect(await agent.api.listContainers({ all: true })).toEqual([]);
    await expect(upCommand(ctx, [], { scale: [], watch: true, detach: true })).rejects.toThrow('--watch cannot be combined with --detach or --wait');
  });
});
