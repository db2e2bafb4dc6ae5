/**
 * /etc/hosts, /etc/hostname and /etc/resolv.conf for a container, written the way Docker
 * writes them (pure functions: the runtime bind-mounts the text they return).
 */
import { TscError } from '../lib/errors.js';
import { isIp } from './ip-addr.js';

export const EMBEDDED_DNS = '127.0.0.11';

/** Compose's `extra_hosts`: a list of `host:ip` / `host=ip`, or a map host -> ip(s). */
export type ExtraHosts = readonly string[] | Readonly<Record<string, string | readonly string[]>>;

export interface HostsInput {
  hostname: string;
  domainname?: string | undefined;
  /**
   * The container's addresses, each naming it: IPv4 then IPv6 of every network it is on, the
   * primary first (Docker adds an endpoint's on join and drops them on leave). Empty for none.
   */
  addresses?: readonly string[] | undefined;
  extraHosts?: ExtraHosts | undefined;
  /** What `host-gateway` stands for (the host's address as containers see it). */
  hostGateway?: string | undefined;
  /** For messages: `services.<service>.extra_hosts`. */
  service?: string | undefined;
}

const DEFAULT_HOSTS = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/** Normalise extra_hosts to (host, ip) pairs in order, resolving host-gateway. */
export function extraHostEntries(input: Pick<HostsInput, 'extraHosts' | 'hostGateway' | 'service'>): { host: string; ip: string }[] {
  const pairs: { host: string; ip: string }[] = [];
  const eh = input.extraHosts ?? [];
  const path = `services.${input.service ?? '?'}.extra_hosts`;
  if (Array.isArray(eh)) {
    (eh as readonly string[]).forEach((s, i) => {
      // host=ip, or host:ip where the ip may itself hold colons (IPv6).
      const eq = s.indexOf('=');
      const sep = eq >= 0 ? eq : s.indexOf(':');
      if (sep <= 0) throw new TscError('ERR_COMPOSE_INVALID', `invalid extra host ${JSON.stringify(s)}: expected host:ip`, { path: `${path}[${i}]` });
      pairs.push({ host: s.slice(0, sep), ip: s.slice(sep + 1).replace(/^\[(.*)\]$/, '$1') });
    });
  } else {
    for (const [host, v] of Object.entries(eh as Record<string, string | readonly string[]>)) {
      for (const ip of typeof v === 'string' ? [v] : v) pairs.push({ host, ip });
    }
  }
  return pairs.map(({ host, ip }) => {
    if (ip === 'host-gateway') {
      if (input.hostGateway === undefined) {
        throw new TscError('ERR_NETWORK', `extra host ${host}: host-gateway has no address here (the container has no bridge network)`, { path });
      }
      return { host, ip: input.hostGateway };
    }
    if (!isIp(ip)) throw new TscError('ERR_COMPOSE_INVALID', `invalid extra host ${host}: ${JSON.stringify(ip)} is not an IP address`, { path });
    return { host, ip };
  });
}

export function renderHosts(input: HostsInput): string {
  const lines = [...DEFAULT_HOSTS];
  for (const { host, ip } of extraHostEntries(input)) lines.push(`${ip}\t${host}`);
  const names = input.domainname ? `${input.hostname}.${input.domainname} ${input.hostname}` : input.hostname;
  for (const address of input.addresses ?? []) lines.push(`${address}\t${names}`);
  return `${lines.join('\n')}\n`;
}

export function renderHostname(hostname: string): string {
  return `${hostname}\n`;
}

export interface ParsedResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

export function parseResolvConf(text: string): ParsedResolvConf {
  const out: ParsedResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [word, ...rest] = line.split(/\s+/);
    if (word === 'nameserver' && rest[0] !== undefined) out.nameservers.push(rest[0]);
    else if (word === 'search' || word === 'domain') out.search = rest;
    else if (word === 'options') out.options.push(...rest);
  }
  return out;
}

export interface ResolvInput {
  /** The host's /etc/resolv.conf text. */
  host: string;
  /** Whether the container uses the embedded DNS (it is on a user-defined network). */
  embedded: boolean;
  dns?: readonly string[] | undefined;
  dnsSearch?: readonly string[] | undefined;
  dnsOpt?: readonly string[] | undefined;
}

function isLocalhost(ns: string): boolean {
  return ns.startsWith('127.') || ns === '::1';
}

/**
 * The container's resolv.conf and, for the embedded DNS, where its other queries go. On a
 * user network Docker points the container at 127.0.0.11 with `options ndots:0` (unless
 * dns_opt sets ndots) and forwards to `dns:` or the host's servers; on the default bridge it
 * copies the host's servers without the localhost ones (falling back to Google's).
 */
export function renderResolvConf(input: ResolvInput): { content: string; upstreams: string[] } {
  const host = parseResolvConf(input.host);
  const searchIn = input.dnsSearch ?? host.search;
  const search = searchIn.length === 1 && searchIn[0] === '.' ? [] : [...searchIn];
  const options = [...(input.dnsOpt ?? host.options)];
  let nameservers: string[];
  let upstreams: string[];
  if (input.embedded) {
    nameservers = [EMBEDDED_DNS];
    upstreams = [...(input.dns ?? host.nameservers)].slice(0, 3);
    if (!options.some((o) => o.startsWith('ndots:'))) options.push('ndots:0');
  } else {
    nameservers = [...(input.dns ?? host.nameservers.filter((n) => !isLocalhost(n)))];
    if (nameservers.length === 0) nameservers = ['8.8.8.8', '8.8.4.4'];
    upstreams = [];
  }
  const lines = nameservers.map((n) => `nameserver ${n}`);
  if (search.length > 0) lines.push(`search ${search.join(' ')}`);
  if (options.length > 0) lines.push(`options ${options.join(' ')}`);
  return { content: `${lines.join('\n')}\n`, upstreams };
}
