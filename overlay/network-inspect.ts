/**
 * `network inspect` output in the Docker Engine's shape (`docker network inspect`), built from
 * the manager's state, so scripts written against Docker (`.IPAM.Config[0].Subnet`,
 * `.Containers[].IPv4Address`) read ours unchanged. Pure: the caller maps container names to
 * the ids Docker keys `Containers` by.
 */
import { createHash } from 'node:crypto';

import type { NetworkRecord } from './network-driver.js';
import type { NetworkingState } from './networking-state.js';

export interface DockerNetworkEndpoint {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  IPv4Address: string;
  IPv6Address: string;
}

export interface DockerNetworkInspect {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local' | 'swarm';
  Driver: string;
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string>; Config: { Subnet: string; Gateway: string; IPRange?: string }[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, DockerNetworkEndpoint>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** The network's id: its own, or (states saved before ids) one derived from its name. */
export function networkIdOf(net: NetworkRecord): string {
  return net.id ?? createHash('sha256').update(`tsc-network:${net.name}`).digest('hex');
}

/** A stable endpoint id (Docker's EndpointID), derived from network and container. */
function endpointId(network: string, container: string): string {
  return createHash('sha256').update(`tsc-endpoint:${network}:${container}`).digest('hex');
}

export function dockerNetworkInspect(
  state: NetworkingState,
  name: string,
  idOf: (container: string) => string = (c) => c,
): DockerNetworkInspect | undefined {
  const net = state.networks[name];
  if (net === undefined) return undefined;
  const ipam = state.ipam.networks[name]?.subnets ?? [];
  const containers: Record<string, DockerNetworkEndpoint> = {};
  for (const c of Object.values(state.containers).sort((a, b) => a.container.localeCompare(b.container))) {
    for (const e of c.endpoints.filter((x) => x.network === name)) {
      containers[idOf(c.container)] = {
        Name: c.container,
        EndpointID: endpointId(name, c.container),
        MacAddress: e.mac ?? '',
        IPv4Address: e.ipv4 === undefined ? '' : `${e.ipv4}/${e.prefix4 ?? 32}`,
        IPv6Address: e.ipv6 === undefined ? '' : `${e.ipv6}/${e.prefix6 ?? 128}`,
      };
    }
  }
  return {
    Name: net.name,
    Id: networkIdOf(net),
    Created: net.created ?? '0001-01-01T00:00:00Z',
    Scope: net.driver === 'overlay' ? 'swarm' : 'local',
    Driver: net.driver,
    EnableIPv4: true,
    EnableIPv6: net.enableIpv6 ?? net.subnets.some((s) => s.family === 6),
    IPAM: {
      Driver: 'default',
      Options: {},
      Config: net.subnets.map((s) => {
        const range = ipam.find((i) => i.subnet === s.subnet)?.ipRange;
        return { Subnet: s.subnet, Gateway: s.gateway, ...(range === undefined ? {} : { IPRange: range }) };
      }),
    },
    Internal: net.internal,
    Attachable: net.attachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: { ...(net.options ?? {}) },
    Labels: { ...net.labels },
  };
}
