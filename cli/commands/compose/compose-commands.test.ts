import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { fakeNodeAgent, fakeRuntime } from '../../../agent/testing/fakes.js';
import { quietReporter } from '../../progress/plain.js';
import { loadModel } from '../../../schema/tests/helpers.js';
import type { ComposeContext } from '../../compose-context.js';
import { registerLifecycle } from './lifecycle.js';
import { logsCommand, psCommand } from './ps.js';
import { pullCommand, registerPullImages } from './pull.js';
import { attachCommand } from './attach.js';
import { runCommand } from './run.js';
import { scaleCommand } from './scale.js';
import { downCommand, upCommand } from './up.js';

const yaml = `
name: demo
services:
  web:
    image: nginx:alpine
    ports: ["8080:80"]
    command: ["nginx", "-g", "daemon off;"]
    depends_on: [db]
  db:
    image: postgres
`;

function read(s: PassThrough): string {
  const chunk: unknown = s.read();
  return chunk === null ? '' : String(chunk);
}

describe('compose commands against an agent', () => {
  let agent: Awaited<ReturnType<typeof fakeNodeAgent>>;
  let ctx: ComposeContext;
  let out: PassThrough;
  let err: PassThrough;
  beforeEach(async () => {
    agent = await fakeNodeAgent();
    out = new PassThrough();
    err = new PassThrough();
    const { project } = loadModel(yaml, { projectName: 'demo' });
    ctx = {
      load: async () => ({ project, configFiles: ['/work/project/compose.yaml'], environment: {}, warnings: [] }),
      projectName: async () => 'demo',
      agent: async () => agent.api,
      reporter: () => quietReporter(),
      stdout: out,
      stderr: err,
      desiredOptions: () => ({}),
    };
  });
  afterEach(async () => {
    await agent.dispose();
  });

  it('up -d, ps, logs and down', async () => {
    expect(await upCommand(ctx, [], { detach: true, scale: [] })).toBe(0);
    expect(await psCommand(ctx, [], { status: [], format: 'json' })).toBe(0);
    const rows = read(out).trim().split('\n').map((l) => JSON.parse(l) as { Name: string; Service: string; State: string; Command: string });
    expect(rows.map((r) => [r.Name, r.Service, r.State])).toEqual([
      ['demo-db-1', 'db', 'running'],
      ['demo-web-1', 'web', 'running'],
    ]);
    expect(rows[1]?.Command).toBe('nginx -g daemon off;');

    expect(await psCommand(ctx, [], { status: [], services: true })).toBe(0);
    expect(read(out)).toBe('db\nweb\n');

    const web = (await agent.api.listContainers()).find((c) => c.name === 'demo-web-1');
    if (web === undefined) throw new Error('no web container');
    await writeFile(join(agent.dir, 'containers', web.id, `${web.id}-json.log`), `${JSON.stringify({ log: 'GET /\n', stream: 'stdout', time: '2026-01-01T00:00:00Z' })}\n`);
    expect(await logsCommand(ctx, ['web'], { color: false })).toBe(0);
    expect(read(out)).toBe('demo-web-1  | GET /\n');

    expect(await downCommand(ctx, {})).toBe(0);
    expect(await agent.api.listContainers({ all: true })).toEqual([]);
  });

  it('stop and start act on the project\'s containers only', async () => {
    await upCommand(ctx, [], { detach: true, scale: ['web=2'] });
    const program = new Command().exitOverride();
    let code = -1;
    registerLifecycle(program, () => ctx, (c) => (code = c));
    await program.parseAsync(['stop', 'web'], { from: 'user' });
    expect(code).toBe(0);
    const states = async () => (await agent.api.listContainers({ all: true })).map((c) => `${c.name}:${c.state}`).sort();
    expect(await states()).toEqual(['demo-db-1:running', 'demo-web-1:exited', 'demo-web-2:exited']);
    await program.parseAsync(['start'], { from: 'user' });
    expect(await states()).toEqual(['demo-db-1:running', 'demo-web-1:running', 'demo-web-2:running']);
    await program.parseAsync(['port', 'web', '80'], { from: 'user' });
    expect(read(out)).toBe('0.0.0.0:8080\n');
  });

  it('pull fails on an image it cannot get, unless told to ignore failures', async () => {
    const { project } = loadModel('services:\n  ok:\n    image: busybox\n  bad:\n    image: missing\n', { projectName: 'demo' });
    const c = { ...ctx, load: async () => ({ project, configFiles: [], environment: {}, warnings: [] }) };
    expect(await pullCommand(c, [], {})).toBe(1);
    expect(await pullCommand(c, [], { ignorePullFailures: true })).toBe(0);
    expect(await pullCommand(c, ['ok'], {})).toBe(0);
  });

  it('create builds a missing image of a service with build: (unless --no-build)', async () => {
    const { project } = loadModel('services:\n  app:\n    build: .\n', { projectName: 'demo' });
    const c = { ...ctx, load: async () => ({ project, configFiles: [], environment: {}, warnings: [] }) };
    const program = new Command().exitOverride();
    registerPullImages(program, () => c, () => undefined);
    // the fake agent has no builder: reaching it is what shows create asked for a build
    await expect(program.parseAsync(['create'], { from: 'user' })).rejects.toThrow('this agent cannot build images');
    await program.parseAsync(['create', '--no-build'], { from: 'user' });
    expect((await agent.api.listContainers({ all: true })).map((x) => `${x.name}:${x.state}`)).toEqual(['demo-app-1:created']);
  });

  it('run gets the service image as up would: pulled when missing, built for a service with build:', async () => {
    const { project } = loadModel('services:\n  job:\n    image: missing\n  app:\n    build: .\n', { projectName: 'demo' });
    const c = { ...ctx, load: async () => ({ project, configFiles: [], environment: {}, warnings: [] }) };
    const flags = { env: [], volume: [], publish: [], label: [], detach: true };
    await expect(runCommand(c, 'job', [], flags)).rejects.toThrow('pull access denied for missing');
    // the fake agent has no builder: reaching it is what shows run asked for a build
    await expect(runCommand(c, 'app', [], flags)).rejects.toThrow('this agent cannot build images');
    expect(await agent.api.listContainers({ all: true })).toEqual([]);
  });

  it('rejects contradictory flags', async () => {
    await expect(upCommand(ctx, [], { scale: [], forceRecreate: true, recreate: false })).rejects.toThrow('--force-recreate and --no-recreate are incompatible');
    await expect(upCommand(ctx, [], { scale: ['web'] })).rejects.toThrow('invalid --scale value "web": expected SERVICE=NUM');
  });

  it('scale adds and removes containers of a service and keeps the ones it does not need to touch', async () => {
    await upCommand(ctx, [], { detach: true, scale: [] });
    const web = async () => (await agent.api.listContainers({ all: true })).filter((c) => c.name.startsWith('demo-web-')).map((c) => `${c.name}:${c.state}`).sort();
    const first = (await agent.api.listContainers()).find((c) => c.name === 'demo-web-1')?.id;
    expect(await scaleCommand(ctx, ['web=3'], {})).toBe(0);
    expect(await web()).toEqual(['demo-web-1:running', 'demo-web-2:running', 'demo-web-3:running']);
    expect((await agent.api.listContainers()).find((c) => c.name === 'demo-web-1')?.id).toBe(first);
    expect(await scaleCommand(ctx, ['web=1'], {})).toBe(0);
    expect(await web()).toEqual(['demo-web-1:running']);
    await expect(scaleCommand(ctx, ['nope=2'], {})).rejects.toThrow('no such service: nope');
    await expect(scaleCommand(ctx, [], {})).rejects.toThrow('scale requires at least one SERVICE=REPLICAS argument');
  });
});

describe('attach', () => {
  it("prints the container's new output and exits with its exit code", async () => {
    const rt = fakeRuntime();
    const agent = await fakeNodeAgent(rt.rt);
    try {
      const { project } = loadModel('services:\n  job:\n    image: busybox\n', { projectName: 'demo' });
      const out = new PassThrough();
      const ctx: ComposeContext = {
        load: async () => ({ project, configFiles: [], environment: {}, warnings: [] }),
        projectName: async () => 'demo',
        agent: async () => agent.api,
        reporter: () => quietReporter(),
        stdout: out,
        stderr: new PassThrough(),
        desiredOptions: () => ({}),
      };
      await upCommand(ctx, [], { detach: true, scale: [] });
      const job = (await agent.api.listContainers()).find((c) => c.name === 'demo-job-1');
      if (job === undefined) throw new Error('no job container');
      const log = join(agent.dir, 'containers', job.id, `${job.id}-json.log`);
      await writeFile(log, `${JSON.stringify({ log: 'before attach\n', stream: 'stdout', time: '2020-01-01T00:00:00Z' })}\n`);
      const printed = new Promise((r) => out.once('readable', r));
      const attached = attachCommand(ctx, 'job', {});
      // stamped a little ahead so that it counts as new however late the follow begins
      await appendFile(log, `${JSON.stringify({ log: 'after attach\n', stream: 'stdout', time: new Date(Date.now() + 1000).toISOString() })}\n`);
      await printed;
      rt.procs.get(job.id)?.finish(3);
      expect(await attached).toBe(3);
      expect(read(out)).toBe('after attach\n');
    } finally {
      await agent.dispose();
    }
  });
});
