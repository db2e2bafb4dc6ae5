/** The public face of overlay/: what the agent and the swarm call. */
export { createHostNetworking, DNS_PORT } from './host-networking.js';
export type { HostNetworking, HostNetworkingOptions } from './host-networking.js';
export type { ConnectRequest, ContainerRecord, EndpointSpec, NetworkSpec, NetworkingState, VipRecord, VipRequest } from './networking-state.js';
export { emptyNetworkingState } from './networking-state.js';
export type { DriverContext, DriverName, EndpointRecord, NetworkDriver, NetworkRecord } from './network-driver.js';
export { bridgeDriver, hostDriver, noneDriver } from './bridge-driver.js';
export { overlayDriver, VXLAN_OVERHEAD } from './overlay-driver.js';
export { containerFiles } from './container-files.js';
export type { ContainerFiles, ContainerFilesInput } from './container-files.js';
export { renderHostname, renderHosts, renderResolvConf, EMBEDDED_DNS } from './etc-files.js';
export { allocateAddresses, allocateSubnets, emptyIpamState, LOCAL_POOLS, OVERLAY_POOLS, releaseAddresses, releaseSubnets } from './ipam.js';
export type { IpamConfigEntry, IpamState } from './ipam.js';
export { answerQuery } from './dns-answer.js';
export type { DnsTable } from './dns-answer.js';
export { createDnsServer } from './dns-server.js';
export type { DnsServer } from './dns-server.js';
export type { PortConfig } from './published-ports.js';
