/**
 * `network connect/disconnect/prune` in the agent core, against the fake network service:
 * what is recorded for a stopped container (it takes effect at its next start), and the
 * errors Docker gives. The live path on the kernel is in test/e2e/network.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { ContainerSpec } from './api/types.js';
import { containerSpec, fakeNodeAgent } from './testing/fakes.js';

type Agent = Awaited<ReturnType<typeof fakeNodeAgent>>;

describe('network connect and disconnect in the agent', () => {
  let agent: Agent;
  const netSpec = (name: string) => ({ name, driver: 'bridge', driverOpts: {}, labels: {}, internal: false, attachable: false, enableIpv6: false, ipam: { driver: 'default', config: [] } });
  const endpoints = async (id: string): Promise<ContainerSpec['endpoints']> => (await agent.api.inspectContainer(id)).spec.endpoints;

  beforeEach(async () => {
    agent = await fakeNodeAgent();
    await agent.api.createNetwork(netSpec('p_default'));
    await agent.api.createNetwork(netSpec('p_extra'));
  });
  afterEach(async () => {
    await agent.dispose();
  });

  it('records a connect of a stopped container, with aliases and address, and its disconnect', async () => {
    const { id } = await agent.api.createContainer(containerSpec('p-web-1'));
    await agent.api.connectNetwork('p_extra', 'p-web-1', { aliases: ['w'], ipv4Address: '172.30.0.9' });
    expect(await endpoints(id)).toEqual([
      { network: 'p_default', aliases: ['web'] },
      { network: 'p_extra', aliases: ['w'], ipv4Address: '172.30.0.9' },
    ]);
    expect((await agent.api.listContainers({ all: true }))[0]?.networks).toEqual(['p_default', 'p_extra']);
    await agent.api.disconnectNetwork('p_extra', id.slice(0, 12));
    expect(await endpoints(id)).toEqual([{ network: 'p_default', aliases: ['web'] }]);
  });

  it('says what Docker says for a second connect, a missing network and a network it is not on', async () => {
    await agent.api.createContainer(containerSpec('p-web-1'));
    await expect(agent.api.connectNetwork('p_default', 'p-web-1')).rejects.toMatchObject({
      code: 'ERR_CONFLICT',
      message: 'endpoint with name p-web-1 already exists in network p_default',
    });
    await expect(agent.api.connectNetwork('p_nope', 'p-web-1')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND', message: 'network p_nope not found' });
    await expect(agent.api.disconnectNetwork('p_extra', 'p-web-1')).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
      message: 'container p-web-1 is not connected to network p_extra',
    });
    await expect(agent.api.connectNetwork('p_extra', 'nobody')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  it('refuses a container sharing another namespace', async () => {
    await agent.api.createContainer(containerSpec('p-host-1', { networkMode: 'host', endpoints: [] }));
    await expect(agent.api.connectNetwork('p_extra', 'p-host-1')).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
  });
});
