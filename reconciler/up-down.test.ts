import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { AgentEvent, ContainerSpec } from '../agent/api/types.js';
import { containerSpec, fakeNodeAgent, fakeRuntime } from '../agent/testing/fakes.js';
import { quietReporter } from '../cli/progress/plain.js';
import type { DesiredProject, DesiredServiceSpec } from './desired.js';
import { down } from './down.js';
import { LABEL } from './labels.js';
import { DEFAULT_UP, up } from './up.js';

type Agent = Awaited<ReturnType<typeof fakeNodeAgent>>;

function service(name: string, extra: Partial<DesiredServiceSpec> = {}, spec: Partial<ContainerSpec> = {}): DesiredServiceSpec {
  const s: DesiredServiceSpec = {
    name,
    scale: 1,
    configHash: 'h1',
    image: 'busybox',
    pullPolicy: 'never',
    dependsOn: [],
    container: (n) =>
      containerSpec(`p-${name}-${n}`, {
        ...spec,
        labels: { [LABEL.project]: 'p', [LABEL.service]: name, [LABEL.containerNumber]: String(n), [LABEL.oneoff]: 'False', [LABEL.configHash]: s.configHash },
      }),
    ...extra,
  };
  return s;
}

const fastHealth = { test: ['CMD', 'true'], intervalMs: 10, timeoutMs: 1000, retries: 3, startPeriodMs: 0, startIntervalMs: 10 };

function threeTier(): DesiredProject {
  return {
    name: 'p',
    warnings: [],
    networks: [
      { key: 'frontend', external: false, spec: { name: 'p_frontend', driver: 'bridge', driverOpts: {}, labels: { [LABEL.project]: 'p' }, internal: false, attachable: false, enableIpv6: false, ipam: { driver: 'default', config: [] } } },
    ],
    volumes: [{ key: 'data', external: false, spec: { name: 'p_data', driver: 'local', driverOpts: {}, labels: { [LABEL.project]: 'p' } } }],
    services: [
      service('web', { dependsOn: [{ service: 'app', condition: 'service_started', required: true, restart: false }] }),
      service('app', { dependsOn: [{ service: 'db', condition: 'service_healthy', required: true, restart: false }] }),
      service('db', {}, { healthcheck: fastHealth }),
    ],
  };
}

describe('up and down', () => {
  let agent: Agent;
  beforeEach(async () => {
    agent = await fakeNodeAgent();
  });
  afterEach(async () => {
    await agent.dispose();
  });

  it('starts services in dependency order, waiting for a healthy database', async () => {
    const starts: string[] = [];
    const ac = new AbortController();
    const seen = (async () => {
      for await (const e of agent.api.events() as AsyncIterable<AgentEvent>) {
        if (e.action === 'start') starts.push(e.attributes['name'] ?? '');
        if (e.action.startsWith('health_status')) starts.push(`${e.attributes['name']} ${e.action}`);
        if (starts.length === 4 || ac.signal.aborted) break;
      }
    })();
    await up(agent.api, threeTier(), DEFAULT_UP, quietReporter());
    await seen;
    expect(starts).toEqual(['p-db-1', 'p-db-1 health_status: healthy', 'p-app-1', 'p-web-1']);
    expect((await agent.api.listNetworks()).map((n) => n.name)).toEqual(['p_frontend']);
    expect((await agent.api.listVolumes()).map((v) => v.name)).toEqual(['p_data']);
  });

  it('follows the agent\'s events while waiting: a dependency\'s health and --wait end with no poll', async () => {
    // The fallback re-read is an hour away: only the events can end these waits.
    await up(agent.api, threeTier(), { ...DEFAULT_UP, wait: true, pollMs: 3_600_000 }, quietReporter());
    const running = await agent.api.listContainers();
    expect(running.map((c) => [c.name, c.health]).sort()).toEqual([
      ['p-app-1', 'none'],
      ['p-db-1', 'healthy'],
      ['p-web-1', 'none'],
    ]);
  });

  it('leaves an unchanged project alone and recreates a changed service', async () => {
    const p = threeTier();
    await up(agent.api, p, DEFAULT_UP, quietReporter());
    const before = new Map((await agent.api.listContainers()).map((c) => [c.name, c.id]));
    await up(agent.api, p, DEFAULT_UP, quietReporter());
    const same = new Map((await agent.api.listContainers()).map((c) => [c.name, c.id]));
    expect(same).toEqual(before);
    const web = p.services.find((s) => s.name === 'web');
    if (web) web.configHash = 'h2';
    await up(agent.api, p, DEFAULT_UP, quietReporter());
    const after = new Map((await agent.api.listContainers()).map((c) => [c.name, c.id]));
    expect(after.get('p-web-1')).not.toBe(before.get('p-web-1'));
    expect(after.get('p-db-1')).toBe(before.get('p-db-1'));
  });

  it('fails with docker compose\'s message when a dependency is unhealthy', async () => {
    const failing = await fakeNodeAgent(fakeRuntime({ execExitCode: (args) => (args[0] === 'false' ? 1 : 0) }).rt);
    try {
      const p = threeTier();
      const db = p.services.find((s) => s.name === 'db');
      if (db) db.container = (n) => ({ ...containerSpec(`p-db-${n}`, { healthcheck: { ...fastHealth, test: ['CMD', 'false'], retries: 1 } }), labels: { [LABEL.project]: 'p', [LABEL.service]: 'db', [LABEL.containerNumber]: '1', [LABEL.oneoff]: 'False' } });
      await expect(up(failing.api, p, DEFAULT_UP, quietReporter())).rejects.toThrow('dependency failed to start: container p-db-1 is unhealthy');
      expect((await failing.api.listContainers({ all: true })).map((c) => c.name)).toEqual(['p-db-1']);
    } finally {
      await failing.dispose();
    }
  });

  it('down removes containers, networks and, with -v, volumes', async () => {
    const p = threeTier();
    await up(agent.api, p, DEFAULT_UP, quietReporter());
    await down(agent.api, p, { volumes: false, removeOrphans: false }, quietReporter());
    expect(await agent.api.listContainers({ all: true })).toEqual([]);
    expect(await agent.api.listNetworks()).toEqual([]);
    expect((await agent.api.listVolumes()).map((v) => v.name)).toEqual(['p_data']);
    await up(agent.api, p, DEFAULT_UP, quietReporter());
    await down(agent.api, p, { volumes: true, removeOrphans: false }, quietReporter());
    expect(await agent.api.listVolumes()).toEqual([]);
  });

  it('down stops dependents first, and removes the networks once all is stopped, while the last containers go', async () => {
    const p = threeTier();
    await up(agent.api, p, DEFAULT_UP, quietReporter());
    const log: string[] = [];
    const api = agent.api;
    let networkAsked = () => {};
    const networkCalled = new Promise<void>((resolve) => (networkAsked = resolve));
    const name = async (id: string) => (await api.inspectContainer(id)).name;
    const spy: typeof api = {
      ...api,
      async stopContainer(id, o) {
        const n = await name(id);
        log.push(`stop ${n}`);
        await api.stopContainer(id, o);
        log.push(`stopped ${n}`);
      },
      async removeContainer(id, o) {
        const n = await name(id);
        // The database's removal waits for the network's (a sequential down never gets there:
        // the fallback lets it finish, and the log shows the order).
        if (n === 'p-db-1') await Promise.race([networkCalled, new Promise((r) => setTimeout(r, 2000))]);
        await api.removeContainer(id, o);
        log.push(`removed ${n}`);
      },
      async removeNetwork(n) {
        log.push(`remove network ${n}`);
        networkAsked();
        await api.removeNetwork(n);
      },
    };
    await down(spy, p, { volumes: false, removeOrphans: false }, quietReporter());
    expect(log).toEqual([
      'stop p-web-1',
      'stopped p-web-1',
      'removed p-web-1',
      'stop p-app-1',
      'stopped p-app-1',
      'removed p-app-1',
      'stop p-db-1',
      'stopped p-db-1',
      'remove network p_frontend',
      'removed p-db-1',
    ]);
    expect(await api.listContainers({ all: true })).toEqual([]);
    expect(await api.listNetworks()).toEqual([]);
  });

  it('down fails with the agent\'s error when a stop fails, and goes no further', async () => {
    const p = threeTier();
    await up(agent.api, p, DEFAULT_UP, quietReporter());
    const api = agent.api;
    const calls: string[] = [];
    const failing: typeof api = {
      ...api,
      async stopContainer(id, o) {
        const n = (await api.inspectContainer(id)).name;
        calls.push(`stop ${n}`);
        if (n === 'p-web-1') throw new Error('cannot stop p-web-1');
        await api.stopContainer(id, o);
      },
      async removeNetwork(n) {
        calls.push(`remove network ${n}`);
        await api.removeNetwork(n);
      },
    };
    await expect(down(failing, p, { volumes: false, removeOrphans: false }, quietReporter())).rejects.toThrow('cannot stop p-web-1');
    expect(calls).toEqual(['stop p-web-1']);
    await down(api, p, { volumes: false, removeOrphans: false }, quietReporter());
  });

  it('reports orphans and removes them only when asked', async () => {
    const p = threeTier();
    await up(agent.api, p, DEFAULT_UP, quietReporter());
    const smaller = { ...p, services: p.services.filter((s) => s.name === 'db') };
    const r = await down(agent.api, smaller, { volumes: false, removeOrphans: false }, quietReporter());
    expect(r.orphans.sort()).toEqual(['p-app-1', 'p-web-1']);
    await down(agent.api, smaller, { volumes: false, removeOrphans: true }, quietReporter());
    expect(await agent.api.listContainers({ all: true })).toEqual([]);
  });
});
