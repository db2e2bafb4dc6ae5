import { request } from 'node:http';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { TscError } from '../../lib/errors.js';
import { connectAgent } from './http-client.js';
import { serveAgent, type AgentServer } from './http-server.js';
import type { AgentApi, AgentEvent, BuildProgress, ContainerSummary, PullProgress } from './types.js';

const builds = { aborted: false };

// A fake node at the executor edge: the test is about the wire, not about containers.
function fakeAgent(): AgentApi {
  const containers: ContainerSummary[] = [];
  const notImplemented = (): never => {
    throw new Error('not used by this test');
  };
  const base = Object.fromEntries(
    ['startContainer', 'stopContainer', 'killContainer', 'restartContainer', 'pauseContainer', 'unpauseContainer', 'removeContainer', 'waitContainer', 'logs', 'exec', 'listImages', 'removeImage', 'loadImage', 'inspectImage', 'saveImages', 'pruneImages', 'createNetwork', 'removeNetwork', 'listNetworks', 'createVolume', 'removeVolume', 'listVolumes'].map((m) => [m, notImplemented]),
  );
  return {
    ...(base as unknown as AgentApi),
    info: async () => ({ id: 'node-1', hostname: 'h', version: '0.1.0', runtime: 'tsc-runtime', cgroupVersion: 1 }),
    createContainer: async (spec) => {
      containers.push({ id: `id-${spec.name}`, name: spec.name, image: spec.image, labels: spec.labels, state: 'created', status: 'Created', health: 'none', exitCode: 0, createdAt: '', ports: [], networks: [] });
      return { id: `id-${spec.name}`, warnings: [] };
    },
    listContainers: async (filter) =>
      containers.filter((c) => (filter?.label ?? []).every((l) => {
        const [k, v] = l.split('=');
        return k !== undefined && (v === undefined ? k in c.labels : c.labels[k] === v);
      })),
    inspectContainer: async (id) => {
      throw new TscError('ERR_NOT_FOUND', `No such container: ${id}`);
    },
    pullImage: async (ref, onProgress?: (p: PullProgress) => void) => {
      onProgress?.({ image: ref, layer: 'sha256:aa', status: 'downloading', current: 1, total: 2 });
      onProgress?.({ image: ref, layer: 'sha256:aa', status: 'done' });
      return { id: 'sha256:img', repoTags: [ref], repoDigests: [], size: 2, createdAt: '', labels: {} };
    },
    buildImage: async (spec, onProgress, signal) => {
      onProgress?.({ step: '[stage-0 2/2] RUN make', status: 'output', text: 'compiling\n' });
      if (spec.target === 'wait') {
        await new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
        builds.aborted = true;
        throw new TscError('ERR_CANCELLED', 'build cancelled');
      }
      return { id: 'sha256:built', tags: spec.tags, steps: 2, cached: 1 };
    },
    events: async function* (): AsyncGenerator<AgentEvent> {
      yield { type: 'container', action: 'start', id: 'a', attributes: {}, time: '1' };
      yield { type: 'container', action: 'die', id: 'a', attributes: { exitCode: '0' }, time: '2' };
    },
  };
}

async function poll(ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('agent API over a unix socket', () => {
  let dir: string;
  let server: AgentServer;
  let client: AgentApi;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsc-agent-api-'));
    server = await serveAgent(fakeAgent(), join(dir, 'agent.sock'));
    client = connectAgent(server.socketPath);
  });
  afterEach(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is reachable by its owner only', async () => {
    expect((await stat(server.socketPath)).mode & 0o777).toBe(0o600);
  });

  it('carries calls, arguments and results', async () => {
    expect((await client.info()).id).toBe('node-1');
    const spec = { name: 'p-web-1', image: 'busybox', labels: { 'com.docker.compose.project': 'p' } };
    await client.createContainer(spec as unknown as Parameters<AgentApi['createContainer']>[0]);
    expect((await client.listContainers({ label: ['com.docker.compose.project=p'] })).map((c) => c.name)).toEqual(['p-web-1']);
    expect(await client.listContainers({ label: ['com.docker.compose.project=q'] })).toEqual([]);
  });

  it('throws the agent\'s TscError with its code and message', async () => {
    const err = await client.inspectContainer('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TscError);
    expect((err as TscError).code).toBe('ERR_NOT_FOUND');
    expect((err as TscError).message).toBe('No such container: nope');
  });

  it('streams items and progress', async () => {
    const seen: string[] = [];
    const img = await client.pullImage('busybox:latest', (p) => seen.push(p.status));
    expect(seen).toEqual(['downloading', 'done']);
    expect(img.repoTags).toEqual(['busybox:latest']);
    const events: string[] = [];
    for await (const e of client.events()) events.push(e.action);
    expect(events).toEqual(['start', 'die']);
  });

  it('ends a quiet stream the caller leaves, before or after it began, and the agent sees it go', async () => {
    let open = 0;
    let ended = 0;
    const quiet: AgentApi = {
      ...fakeAgent(),
      events: async function* (filter?: { signal?: AbortSignal }): AsyncGenerator<AgentEvent> {
        open++;
        await new Promise<void>((resolve) => filter?.signal?.addEventListener('abort', () => resolve(), { once: true }));
        ended++;
        // nothing is ever published on this stream
        if (filter?.signal?.aborted !== true) yield { type: 'container', action: 'never', id: '', attributes: {}, time: '' };
      },
    };
    const other = await serveAgent(quiet, join(dir, 'quiet.sock'));
    try {
      const c = connectAgent(other.socketPath);
      for (const leave of ['at once', 'once open'] as const) {
        const ac = new AbortController();
        const opened = open;
        const done = (async () => {
          for await (const _ of c.events({ signal: ac.signal })) void _;
        })();
        if (leave === 'once open') await poll(() => open === opened + 1);
        ac.abort();
        await done;
      }
      await poll(() => ended === open);
      expect(ended).toBe(open);
    } finally {
      await other.close();
    }
  });

  it('never takes over the socket of an agent that answers', async () => {
    await expect(serveAgent(fakeAgent(), server.socketPath)).rejects.toThrow(`another agent is already serving ${server.socketPath}`);
    expect((await client.info()).id).toBe('node-1');
  });

  it('says clearly when no agent answers', async () => {
    const none = connectAgent(join(dir, 'missing.sock'));
    await expect(none.info()).rejects.toThrow(`no agent answers on ${join(dir, 'missing.sock')}`);
  });
  it('streams build progress and its result, and a client that goes away stops the build', async () => {
    const seen: BuildProgress[] = [];
    const r = await client.buildImage({ context: '/ctx', tags: ['app'] }, (p) => seen.push(p));
    expect(r).toEqual({ id: 'sha256:built', tags: ['app'], steps: 2, cached: 1 });
    expect(seen).toEqual([{ step: '[stage-0 2/2] RUN make', status: 'output', text: 'compiling\n' }]);

    builds.aborted = false;
    await new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: server.socketPath, method: 'POST', path: '/v1/buildImage?stream', headers: { 'content-type': 'application/json' } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
      req.end(JSON.stringify([{ context: '/ctx', tags: ['app'], target: 'wait' }]));
    });
    const deadline = Date.now() + 5000;
    while (!builds.aborted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(builds.aborted).toBe(true);
  });
});
