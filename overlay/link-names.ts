/**
 * Kernel names for our links. Interface names are at most 15 bytes, so bridges and host-side
 * veths get a short hash of what they stand for; the compose name is kept as the bridge's
 * altname (and in our state), so `ip link show myproj_front` still finds it.
 */
import { createHash } from 'node:crypto';

export const IFNAMSIZ = 15;

function shortHash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** `tsc-` and 10 hex digits of the network's full name. */
export function bridgeNameFor(network: string): string {
  return `tsc-${shortHash(network, 10)}`;
}

/** The host side of a container's veth on one network. */
export function vethNameFor(container: string, network: string): string {
  return `tsv${shortHash(`${container}\0${network}`, 11)}`;
}

/** An altname must be a valid interface name of at most 127 bytes without `/` or spaces. */
export function altnameFor(network: string): string | undefined {
  return /^[A-Za-z0-9_.-]{1,127}$/.test(network) && network !== '.' && network !== '..' ? network : undefined;
}

export function isValidIfname(name: string): boolean {
  return name.length > 0 && name.length <= IFNAMSIZ && !/[\s/:]/.test(name) && name !== '.' && name !== '..';
}

/** Docker's MAC for an IPv4 address: 02:42 followed by the address bytes. */
export function macForIpv4(address: string): string {
  const b = address.split('.').map((x) => Number(x).toString(16).padStart(2, '0'));
  return `02:42:${b.join(':')}`;
}

/**
 * A fixed, locally administered MAC for a bridge. Without one a Linux bridge takes the lowest
 * MAC of its ports, so it changes as containers come and go and their ARP caches go stale.
 */
export function bridgeMacFor(bridge: string): string {
  const h = shortHash(`mac\0${bridge}`, 10);
  return `02:${h.match(/../g)?.join(':') ?? ''}`;
}
