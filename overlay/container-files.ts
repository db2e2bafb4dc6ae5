/**
 * The three files a container gets, from what the network manager decided for it: its
 * address on its primary network goes into /etc/hosts, `host-gateway` is that network's
 * gateway (the host as the container sees it), and a container on any of our networks uses
 * the embedded DNS. The upstreams returned are what to pass as `connect({ dns })`.
 */
import type { ExtraHosts } from './etc-files.js';
import { renderHostname, renderHosts, renderResolvConf } from './etc-files.js';
import type { ContainerRecord, NetworkingState } from './networking-state.js';

export interface ContainerFilesInput {
  /** The container as connected (absent for network_mode none/host). */
  container?: ContainerRecord | undefined;
  state: NetworkingState;
  hostname: string;
  domainname?: string | undefined;
  service?: string | undefined;
  extraHosts?: ExtraHosts | undefined;
  /** The host's /etc/resolv.conf text. */
  hostResolvConf: string;
  dns?: string[] | undefined;
  dnsSearch?: string[] | undefined;
  dnsOpt?: string[] | undefined;
}

export interface ContainerFiles {
  hosts: string;
  hostname: string;
  resolvConf: string;
  upstreams: string[];
}

export function containerFiles(input: ContainerFilesInput): ContainerFiles {
  const primary = input.container?.endpoints[0];
  const net = primary === undefined ? undefined : input.state.networks[primary.network];
  const hostGateway = net?.subnets.find((s) => s.family === 4)?.gateway;
  const resolv = renderResolvConf({
    host: input.hostResolvConf,
    embedded: primary !== undefined,
    dns: input.dns,
    dnsSearch: input.dnsSearch,
    dnsOpt: input.dnsOpt,
  });
  return {
    hosts: renderHosts({
      hostname: input.hostname,
      domainname: input.domainname,
      addresses: (input.container?.endpoints ?? []).flatMap((e) => [e.ipv4, e.ipv6].filter((a): a is string => a !== undefined)),
      extraHosts: input.extraHosts,
      hostGateway,
      service: input.service,
    }),
    hostname: renderHostname(input.hostname),
    resolvConf: resolv.content,
    upstreams: resolv.upstreams,
  };
}
