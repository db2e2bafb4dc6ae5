/**
 * `services.*.ports`: short syntax to long, as compose-go's transformPorts with docker's
 * nat.ParsePortSpecs: `[ip:][published:]target[/protocol]`, ranges on either side, IPv6 hosts in
 * brackets. One short entry can become several long ones (`3000-3002` is three ports), and
 * they come out in the order docker sorts them (by `port/proto` text). Long entries get
 * `protocol: tcp` and `mode: ingress` when they have none, `target` as a number and `published`
 * as a string, which is how `docker compose config` prints them.
 */
import { isIP } from 'node:net';

import type { At } from '../walk.js';
import { isMapping } from '../walk.js';
import { isOrdered, orderKeys } from './order.js';

export interface PortEntry {
  mode: string;
  host_ip?: string;
  target: number;
  published?: string;
  protocol: string;
}

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);
const PORT_RANGE = /^(\d+)(?:-(\d+))?$/;

/** The port range `a` or `a-b` as [start, end], or undefined when it is not one. */
function parseRange(text: string): [number, number] | undefined {
  const m = PORT_RANGE.exec(text);
  if (m === null) return undefined;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535 || end < start) return undefined;
  return [start, end];
}

/** One short-syntax port, as docker parses it. Throws an Error with docker's wording. */
export function parsePortSpec(spec: string): PortEntry[] {
  const parts = spec.split(':');
  const last = parts[parts.length - 1] as string;
  let ip = '';
  let host = '';
  if (parts.length === 2) host = parts[0] as string;
  else if (parts.length === 3) [ip, host] = [parts[0] as string, parts[1] as string];
  else if (parts.length > 3) {
    ip = parts.slice(0, -2).join(':');
    host = parts[parts.length - 2] as string;
  }
  const slash = last.indexOf('/');
  const containerPart = slash < 0 ? last : last.slice(0, slash);
  const protocol = (slash < 0 ? 'tcp' : last.slice(slash + 1)).toLowerCase();
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip !== '' && isIP(ip) === 0) throw new Error(`invalid IP address: ${ip}`);
  if (!PROTOCOLS.has(protocol)) throw new Error(`invalid proto: ${protocol}`);
  const container = parseRange(containerPart);
  if (container === undefined) throw new Error(`invalid containerPort: ${containerPart}`);
  let hostRange: [number, number] | undefined;
  if (host !== '') {
    hostRange = parseRange(host);
    if (hostRange === undefined) throw new Error(`invalid hostPort: ${host}`);
  }
  const [start, end] = container;
  if (hostRange !== undefined && end - start !== hostRange[1] - hostRange[0] && end !== start) {
    throw new Error(`invalid ranges specified for container and host Ports: ${containerPart} and ${host}`);
  }
  const out: Array<{ key: string; entry: PortEntry }> = [];
  for (let i = 0; i <= end - start; i++) {
    const target = start + i;
    let published: string | undefined;
    if (hostRange !== undefined) {
      published = String(hostRange[0] + i);
      if (start === end && hostRange[0] !== hostRange[1]) published = `${published}-${hostRange[1]}`;
    }
    const entry: PortEntry = { mode: 'ingress', target, protocol };
    if (ip !== '') entry.host_ip = ip;
    if (published !== undefined) entry.published = published;
    out.push({ key: `${target}/${protocol}`, entry: ordered(entry) });
  }
  // docker collects ports in a map and compose-go sorts its keys as text.
  out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return out.map((o) => o.entry);
}

const PORT_KEYS = ['name', 'mode', 'host_ip', 'target', 'published', 'protocol', 'app_protocol'];

/** Key order of compose-go's ServicePortConfig, so printed output reads the same. */
function ordered(p: PortEntry): PortEntry {
  return orderKeys(p as unknown as Record<string, unknown>, PORT_KEYS) as unknown as PortEntry;
}

/** `services.*.ports`: expand each short entry in place. */
export function transformPorts(value: unknown, at: At): unknown {
  if (!Array.isArray(value)) return value;
  // long entries only: nothing moves, so each keeps its own position; often canonical already
  if (value.every(isMapping)) {
    const entries = value.map((entry, i) => transformPortEntry(entry, { ...at, path: `${at.path}[${i}]` }));
    return uniquePorts(entries.every((e, i) => e === value[i]) ? value : entries);
  }
  const out: unknown[] = [];
  value.forEach((entry, i) => {
    const itemPath = `${at.path}[${i}]`;
    if (typeof entry === 'number') {
      out.push({ target: entry });
    } else if (typeof entry === 'string') {
      let parsed: PortEntry[];
      try {
        parsed = parsePortSpec(entry);
      } catch (e) {
        throw at.positions.error('ERR_COMPOSE_INVALID', (e as Error).message, itemPath);
      }
      for (const p of parsed) {
        at.alias(`${at.path}[${out.length}]`, itemPath);
        out.push(p);
      }
      return;
    } else {
      out.push(entry);
    }
    at.alias(`${at.path}[${out.length - 1}]`, itemPath);
  });
  return uniquePorts(out.map((entry, i) => transformPortEntry(entry, { ...at, path: `${at.path}[${i}]` })));
}

/** `services.*.ports[]`: one long entry with compose's defaults and printed types. */
export function transformPortEntry(value: unknown, at: At): unknown {
  if (!isMapping(value)) return value;
  if (isCanonicalPort(value)) return value;
  const p: Record<string, unknown> = { ...value };
  if (p.protocol === undefined) p.protocol = 'tcp';
  if (p.mode === undefined) p.mode = 'ingress';
  if (typeof p.target === 'string' && /^\d+$/.test(p.target)) p.target = Number(p.target);
  if (typeof p.published === 'number') p.published = String(p.published);
  if (p.published === '') delete p.published;
  if (p.target === undefined) throw at.positions.error('ERR_COMPOSE_INVALID', 'port is missing a target port', at.path);
  if (typeof p.target !== 'number') {
    throw at.positions.error('ERR_COMPOSE_INVALID', `invalid containerPort: ${String(p.target)}`, `${at.path}.target`);
  }
  return ordered(p as unknown as PortEntry);
}

/** What transformPortEntry gives back unchanged. */
function isCanonicalPort(p: Record<string, unknown>): boolean {
  return (
    p.protocol !== undefined &&
    p.mode !== undefined &&
    typeof p.target === 'number' &&
    typeof p.published !== 'number' &&
    p.published !== '' &&
    isOrdered(p, PORT_KEYS)
  );
}

/**
 * The key merge uses to tell long-form ports apart (compose-go's portIndexer):
 * `host_ip:published:target/protocol`, with `0.0.0.0` and `tcp` when absent.
 */
export function portKey(entry: Record<string, unknown>): string {
  const host = typeof entry.host_ip === 'string' ? entry.host_ip : '0.0.0.0';
  const published = entry.published === undefined ? '' : String(entry.published);
  const protocol = typeof entry.protocol === 'string' ? entry.protocol : 'tcp';
  return `${host}:${published}:${String(entry.target)}/${protocol}`;
}

/**
 * `services.*.ports` after each entry is long: entries with the same `portKey` are one port
 * (`80:80` and `0.0.0.0:80:80`), the later merged into the first, as compose-go's unicity
 * pass does after canonicalization.
 */
export function uniquePorts(value: unknown): unknown {
  return uniqueBy(value, (e) => portKey(e));
}

export function uniqueBy(value: unknown, key: (entry: Record<string, unknown>) => string): unknown {
  if (!Array.isArray(value)) return value;
  let duplicates = false;
  const seen = new Set<string>();
  for (const entry of value) {
    if (!isMapping(entry)) continue;
    const k = key(entry);
    if (seen.has(k)) duplicates = true;
    seen.add(k);
  }
  if (!duplicates) return value;
  const out: unknown[] = [];
  const index = new Map<string, number>();
  for (const entry of value) {
    if (!isMapping(entry)) {
      out.push(entry);
      continue;
    }
    const k = key(entry);
    const at = index.get(k);
    if (at === undefined) {
      index.set(k, out.length);
      out.push(entry);
    } else {
      out[at] = { ...(out[at] as Record<string, unknown>), ...entry };
    }
  }
  return out;
}
