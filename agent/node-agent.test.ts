/**
 * The agent core against fakes at the executor edge (swarmkit's agent/testutils style): the
 * fakes stand for the runtime, images and networks so that lifecycle rules can be checked one
 * by one. The real parts are exercised by the privileged end-to-end tests.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { AgentEvent } from './api/types.js';
import type { ContainerRuntime } from './backends.js';
import { ANONYMOUS_VOLUME_LABEL, createNodeAgent, type NodeAgent } from './node-agent.js';
import { containerSpec as spec, fakeImages as images, fakeNetworks, fakeRuntime } from './testing/fakes.js';
import { createVolumeStore } from './volumes.js';

async function nextEvent(it: AsyncIterator<AgentEvent>, action: string): Promise<AgentEvent> {
  for (;;) {
    const r = await it.next();
    if (r.done === true) throw new Error('event stream ended');
    if (r.value.action === action) return r.value;
  }
}

describe('node agent lifecycle', () => {
  let dir: string;
  let agents: NodeAgent[] = [];
  const make = (rt: ContainerRuntime) => {
    const a = createNodeAgent({ stateDir: dir, runtime: rt, images, networks: fakeNetworks(), bundles: { write: async ({ containerId }) => `/bundles/${containerId}` }, volumes: createVolumeStore(join(dir, 'volumes')) });
    agents.push(a);
    return a;
  };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsc-agent-'));
    agents = [];
  });
  afterEach(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('creates, starts, reports and removes a container', async () => {
    const { rt } = fakeRuntime();
    const { api } = make(rt);
    const { id } = await api.createContainer(spec('p-web-1', { ports: [{ target: 80, protocol: 'tcp', hostIp: '', published: '8080' }] }));
    expect((await api.listContainers({ all: true }))[0]).toMatchObject({ name: 'p-web-1', state: 'created', status: 'Created' });
    expect(await api.listContainers()).toEqual([]);
    await api.startContainer('p-web-1');
    const ins = await api.inspectContainer(id.slice(0, 12));
    expect(ins.state.running).toBe(true);
    expect(ins.networkSettings['p_default']?.ipAddress).toBe('172.18.0.2');
    expect(ins.ports).toEqual([{ target: 80, protocol: 'tcp', hostIp: '', published: '8080', hostPort: 8080 }]);
    await expect(api.removeContainer(id)).rejects.toThrow('cannot remove container "/p-web-1": container is running');
    await api.stopContainer(id);
    expect((await api.inspectContainer(id)).state).toMatchObject({ status: 'exited', exitCode: 143 });
    await api.removeContainer(id);
    await expect(api.inspectContainer(id)).rejects.toThrow(`No such container: ${id}`);
  });

  it('syncs files into the running container by its init pid, owned by its user', async () => {
    const { rt } = fakeRuntime();
    const calls: Array<{ pid: number; uid: number; gid: number }> = [];
    const a = createNodeAgent({
      stateDir: dir,
      runtime: rt,
      images,
      networks: fakeNetworks(),
      bundles: { write: async ({ containerId }) => `/bundles/${containerId}` },
      volumes: createVolumeStore(join(dir, 'volumes')),
      files: {
        readText: async (_root, path) => (path === '/etc/passwd' ? 'root:x:0:0::/:/bin/sh\nwww:x:33:44::/:/bin/sh\n' : 'root:x:0:\n'),
        sync: async (c, changes, o) => {
          calls.push({ pid: c.pid, uid: o.uid, gid: o.gid });
          return { written: changes.length, deleted: 0, unchanged: 0 };
        },
      },
    });
    agents.push(a);
    const { id } = await a.api.createContainer(spec('p-web-1', { user: 'www' }));
    await expect(a.api.syncFiles(id, [{ source: '/h/a', target: '/a' }])).rejects.toThrow('container p-web-1 is not running');
    await a.api.startContainer(id);
    expect(await a.api.syncFiles(id, [{ source: '/h/a', target: '/a' }])).toEqual({ written: 1, deleted: 0, unchanged: 0 });
    expect(calls).toEqual([{ pid: 1, uid: 33, gid: 44 }]);
    expect((await a.api.inspectContainer(id)).state.pid).toBe(1);
  });

  it('refuses a second container of the same name and an image it does not have', async () => {
    const { api } = make(fakeRuntime().rt);
    await api.createContainer(spec('p-web-1'));
    await expect(api.createContainer(spec('p-web-1'))).rejects.toThrow('Conflict. The container name "/p-web-1" is already in use');
    await expect(api.createContainer(spec('p-x-1', { image: 'missing' }))).rejects.toThrow('No such image: missing');
  });

  it('kills after the grace period when the stop signal is ignored', async () => {
    const { rt, procs } = fakeRuntime({ ignoreTerm: true });
    const { api } = make(rt);
    const { id } = await api.createContainer(spec('p-web-1', { stopSignal: 'SIGQUIT' }));
    await api.startContainer(id);
    const proc = procs.get(id);
    await api.stopContainer(id, { timeoutMs: 20 });
    expect(proc?.signals).toEqual(['SIGQUIT', 'SIGKILL']);
    expect((await api.inspectContainer(id)).state.exitCode).toBe(137);
  });

  it('restarts a crashing container under `restart: always`, but not after the user stops it', async () => {
    const { rt, starts } = fakeRuntime({ onStart: (_id, p) => setTimeout(() => p.finish(1), 1) });
    const { api } = make(rt);
    const events = api.events()[Symbol.asyncIterator]();
    const { id } = await api.createContainer(spec('p-crash-1', { restartPolicy: { name: 'always' } }));
    await api.startContainer(id);
    await nextEvent(events, 'die');
    await nextEvent(events, 'start'); // after the 100 ms backoff
    await nextEvent(events, 'die');
    expect(starts.length).toBeGreaterThanOrEqual(2);
    await api.stopContainer(id);
    const count = starts.length;
    expect((await api.inspectContainer(id)).state.restarting).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(starts.length).toBe(count);
    expect((await api.inspectContainer(id)).restartCount).toBeGreaterThanOrEqual(1);
  });

  it('runs post_start hooks when started, not when the restart policy restarts the container', async () => {
    let runs = 0;
    const fake = fakeRuntime({ onStart: (_id, p) => void (runs++ === 0 && setTimeout(() => p.finish(1), 1)) });
    const { api } = make(fake.rt);
    const events = api.events()[Symbol.asyncIterator]();
    const { id } = await api.createContainer(spec('p-hookrestart-1', { restartPolicy: { name: 'always' }, postStart: [{ command: ['warm'] }] }));
    await api.startContainer(id);
    await nextEvent(events, 'die');
    await nextEvent(events, 'start'); // the restart policy's, after the backoff
    expect(fake.calls.filter((c) => c === 'exec warm')).toHaveLength(1);
    await api.restartContainer(id); // a restart the user asks for runs them again
    expect(fake.calls.filter((c) => c === 'exec warm')).toHaveLength(2);
  });

  it('reports OOM kills', async () => {
    const { rt } = fakeRuntime({ onStart: (_id, p) => setTimeout(() => p.finish(137, true), 1) });
    const { api } = make(rt);
    const events = api.events()[Symbol.asyncIterator]();
    const { id } = await api.createContainer(spec('p-oom-1'));
    await api.startContainer(id);
    await nextEvent(events, 'oom');
    expect((await api.waitContainer(id)).exitCode).toBe(137);
    expect((await api.inspectContainer(id)).state.oomKilled).toBe(true);
  });

  it('finds its containers again after a restart of the agent', async () => {
    const fake = fakeRuntime();
    const first = make(fake.rt);
    const { id } = await first.api.createContainer(spec('p-web-1'));
    await first.api.startContainer(id);
    await first.close();
    const second = make(fake.rt);
    await second.recover();
    expect((await second.api.listContainers()).map((c) => [c.name, c.state])).toEqual([['p-web-1', 'running']]);
    fake.procs.get(id)?.finish(3);
    expect((await second.api.waitContainer(id, 'next-exit')).exitCode).toBe(3);
  });

  it('gives a container found running with no health yet (the agent died before saving its start) its healthcheck', async () => {
    const fake = fakeRuntime();
    const first = make(fake.rt);
    const healthcheck = { test: ['CMD', 'true'], intervalMs: 60_000, timeoutMs: 1000, retries: 3, startPeriodMs: 0, startIntervalMs: 0 };
    const { id } = await first.api.createContainer(spec('p-db-1', { healthcheck }));
    await first.close();
    // what the agent had started when it was killed, before its record said so
    await fake.rt.create(id, `/bundles/${id}`, { logPath: join(dir, 'log') });
    await fake.rt.start(id);
    const second = make(fake.rt);
    await second.recover();
    expect((await second.api.inspectContainer(id)).state).toMatchObject({ running: true, health: { status: 'starting' } });
  });

  it('puts a published port a host process took while it was down on the container, as its error', async () => {
    const fake = fakeRuntime();
    const first = make(fake.rt);
    const { id } = await first.api.createContainer(spec('p-web-1'));
    await first.api.startContainer(id);
    await first.close();
    const message = 'Bind for 0.0.0.0:8080 failed: port is already allocated';
    const second = createNodeAgent({
      stateDir: dir,
      runtime: fake.rt,
      images,
      networks: { ...fakeNetworks(), portConflicts: async () => [{ container: 'p-web-1', message }] },
      bundles: { write: async ({ containerId }) => `/bundles/${containerId}` },
      volumes: createVolumeStore(join(dir, 'volumes')),
    });
    agents.push(second);
    await second.recover();
    expect((await second.api.inspectContainer(id)).state).toMatchObject({ status: 'running', error: message });
    expect((await second.api.listContainers())[0]?.status).toMatch(/^Up .* \(Bind for 0\.0\.0\.0:8080 failed: port is already allocated\)$/);
  });

  it('prunes unused volumes: anonymous ones by default, named ones too with all, never one a container holds', async () => {
    const { rt } = fakeRuntime();
    const { api } = make(rt);
    await api.createContainer(spec('p-db-1', { mounts: [{ type: 'volume', source: '', target: '/data', readOnly: false }, { type: 'volume', source: 'p_kept', target: '/kept', readOnly: false }] }));
    const held = (await api.listVolumes({ label: [ANONYMOUS_VOLUME_LABEL] }))[0]?.name;
    await api.createVolume({ name: 'loose-anon', driver: 'local', driverOpts: {}, labels: { [ANONYMOUS_VOLUME_LABEL]: '' } });
    await api.createVolume({ name: 'p_named', driver: 'local', driverOpts: {}, labels: { team: 'a' } });
    await writeFile(join((await api.inspectVolume('loose-anon')).mountpoint, 'blob'), Buffer.alloc(10_000));
    const first = await api.pruneVolumes();
    expect(first.removed).toEqual(['loose-anon']);
    expect(first.reclaimedBytes).toBeGreaterThanOrEqual(10_000);
    expect(await api.pruneVolumes({ all: true, filter: { label: ['team=b'] } })).toEqual({ removed: [], reclaimedBytes: 0 });
    expect((await api.pruneVolumes({ all: true })).removed).toEqual(['p_named']);
    expect((await api.listVolumes()).map((v) => v.name).sort()).toEqual([held, 'p_kept'].sort());
    await expect(api.inspectVolume('p_named')).rejects.toThrow('no such volume: p_named');
  });

  it('runs post_start hooks after the start and pre_stop hooks before the stop signal', async () => {
    const fake = fakeRuntime();
    const { api } = make(fake.rt);
    const hooks = {
      postStart: [{ command: ['touch', '/started'], user: '1000', env: { A: '1' } }, { command: ['echo', 'two'] }],
      preStop: [{ command: ['sh', '-c', 'flush'] }],
    };
    const { id } = await api.createContainer(spec('p-hooks-1', hooks));
    await api.startContainer(id);
    expect(fake.calls).toEqual(['exec touch /started as 1000 env A=1', 'exec echo two']);
    await api.stopContainer(id);
    expect(fake.calls.slice(2)).toEqual(['exec sh -c flush', 'kill SIGTERM']);
  });

  it('fails the start when a post_start hook fails, and keeps the container running as docker compose does', async () => {
    const fake = fakeRuntime({ execExitCode: (args) => (args[0] === 'false' ? 1 : 0) });
    const { api } = make(fake.rt);
    const { id } = await api.createContainer(spec('p-hookfail-1', { postStart: [{ command: ['false'] }, { command: ['never'] }] }));
    await expect(api.startContainer(id)).rejects.toThrow(/p-hookfail-1: post_start hook 0 \(false\) exited with status 1: failed/);
    expect(fake.calls).toEqual(['exec false']);
    expect((await api.inspectContainer(id)).state.running).toBe(true);
  });

  it('stops the container even when a pre_stop hook fails', async () => {
    const fake = fakeRuntime({ execExitCode: () => 2 });
    const { api } = make(fake.rt);
    const events = api.events()[Symbol.asyncIterator]();
    const { id } = await api.createContainer(spec('p-prestop-1', { preStop: [{ command: ['save'] }] }));
    await api.startContainer(id);
    const failed = nextEvent(events, 'pre_stop_hook_failed');
    await api.stopContainer(id);
    expect((await failed).attributes.command).toBe('save');
    expect(fake.calls).toEqual(['exec save', 'kill SIGTERM']);
    expect((await api.inspectContainer(id)).state.running).toBe(false);
  });

  it('gives a container the volumes of the containers named in volumesFrom', async () => {
    const { rt } = fakeRuntime();
    const { api } = make(rt);
    await api.createContainer(spec('p-db-1', { mounts: [{ type: 'volume', source: 'p_data', target: '/data', readOnly: false }, { type: 'volume', source: '', target: '/anon', readOnly: false }] }));
    const db = await api.inspectContainer('p-db-1');
    const anon = db.spec.mounts.find((m) => m.target === '/anon');
    const { id } = await api.createContainer(spec('p-backup-1', { volumesFrom: ['p-db-1:ro'] }));
    const mounts = (await api.inspectContainer(id)).spec.mounts;
    expect(mounts).toEqual([
      { type: 'volume', source: 'p_data', target: '/data', readOnly: true },
      { ...anon, readOnly: true },
    ]);
    await expect(api.createContainer(spec('p-x-1', { volumesFrom: ['nowhere'] }))).rejects.toThrow(/No such container: nowhere/);
  });

  it('tells the host when its last container is gone (the local node then removes its parent cgroup)', async () => {
    const { rt } = fakeRuntime();
    let idle = 0;
    const a = createNodeAgent({
      stateDir: dir,
      runtime: rt,
      images,
      networks: fakeNetworks(),
      bundles: { write: async ({ containerId }) => `/bundles/${containerId}` },
      volumes: createVolumeStore(join(dir, 'volumes')),
      onIdle: async () => {
        idle++;
      },
    });
    agents.push(a);
    const one = await a.api.createContainer(spec('p-one-1'));
    const two = await a.api.createContainer(spec('p-two-1'));
    await a.api.removeContainer(one.id);
    expect(idle).toBe(0);
    await a.api.removeContainer(two.id);
    expect(idle).toBe(1);
  });

  it('runs pre_stop hooks even when stopped with no grace period (stop -t 0)', async () => {
    const fake = fakeRuntime();
    const { api } = make(fake.rt);
    const { id } = await api.createContainer(spec('p-grace0-1', { preStop: [{ command: ['flush'] }] }));
    await api.startContainer(id);
    await api.stopContainer(id, { timeoutMs: 0 });
    expect(fake.calls).toEqual(['exec flush', 'kill SIGTERM']);
  });

  it("attaches to a tty container's terminal both ways, and refuses stdin it was not created with", async () => {
    const fake = fakeRuntime();
    const calls: string[] = [];
    const typed: string[] = [];
    const output = new PassThrough();
    const rt: ContainerRuntime = {
      ...fake.rt,
      attachTerminal: async (id, o) => {
        calls.push(`attach ${id.slice(0, 4)} fromStart=${o.fromStart === true}`);
        return { input: new Writable({ write: (c: Buffer, _e, cb) => (typed.push(c.toString()), cb()) }), output, close: () => calls.push('close') };
      },
      resizeTerminal: async (_id, rows, cols) => void calls.push(`resize ${rows}x${cols}`),
    };
    const { api } = make(rt);
    const { id } = await api.createContainer(spec('p-tty-1', { tty: true, openStdin: true }));
    await expect(api.attachContainer(id, { stdin: true })).rejects.toThrow('container p-tty-1 is not running');
    await api.startContainer(id);
    const s = await api.attachContainer(id, { stdin: true, fromStart: true });
    expect(s.stdout).toBe(output);
    s.stdin.write('ls\r');
    s.resize?.(40, 120);
    s.resize?.(0, 120); // no size: not passed on
    s.close?.();
    await new Promise((r) => setImmediate(r));
    expect(typed).toEqual(['ls\r']);
    expect(calls).toEqual([`attach ${id.slice(0, 4)} fromStart=true`, 'resize 40x120', 'close']);
    fake.procs.get(id)?.finish(3);
    expect(await s.exit).toBe(3);

    const { id: quiet } = await api.createContainer(spec('p-tty-2', { tty: true }));
    await api.startContainer(quiet);
    await expect(api.attachContainer(quiet, { stdin: true })).rejects.toThrow('container p-tty-2 was not created with stdin open');
    expect((await api.attachContainer(quiet, { stdin: false })).stdout).toBe(output);
  });
});
