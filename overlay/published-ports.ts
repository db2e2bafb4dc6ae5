/**
 * Published ports, planned purely: a service's `ports:` (long form, as the loader
 * canonicalises them) plus what the host already has bound become one `RulesetPort` per host
 * port and family. Nothing is bound: ports are DNAT rules, so the check against bound
 * sockets (read from /proc/net by the shell) is what tells a user that a port is taken.
 */
import { TscError } from '../lib/errors.js';
import type { RulesetPort } from './nft-ruleset.js';
import { seededRandom } from './seeded-random.js';

/** `services.X.ports[]` in compose's long form. */
export interface PortConfig {
  target: number;
  /** "8080", "8000-8010" (first free one is taken), or absent/"" for a random one. */
  published?: string | number | undefined;
  host_ip?: string | undefined;
  protocol?: string | undefined;
  mode?: string | undefined;
  name?: string | undefined;
  app_protocol?: string | undefined;
}

/** A socket bound on the host, as /proc/net/{tcp,udp}{,6} lists it. */
export interface BoundSocket {
  protocol: 'tcp' | 'udp';
  address: string;
  port: number;
}

export interface PortPlanRequest {
  service: string;
  /** Container name, used in rule comments and errors. */
  container: string;
  ports: readonly PortConfig[];
  ipv4?: string | undefined;
  ipv6?: string | undefined;
}

export interface PortPlanInput {
  request: PortPlanRequest;
  /** Ports we already publish for other containers. */
  existing: readonly RulesetPort[];
  bound: readonly BoundSocket[];
  /** net.ipv4.ip_local_port_range. */
  ephemeral: readonly [number, number];
  seed: number;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

function overlaps(a: string | undefined, b: string | undefined): boolean {
  const x = a ?? '';
  const y = b ?? '';
  return WILDCARDS.has(x) || WILDCARDS.has(y) || x === y;
}

function parsePublished(p: PortConfig['published'], path: string, service: string): [number, number] | undefined {
  if (p === undefined || p === '') return undefined;
  const text = String(p);
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m && m[2] !== undefined ? Number(m[2]) : lo;
  if (!m || lo < 1 || hi > 65535 || hi < lo) {
    throw new TscError('ERR_COMPOSE_INVALID', `service ${service}: published port ${JSON.stringify(text)} is not a port or range`, {
      path,
    });
  }
  return [lo, hi];
}

/** Resolve a container's published ports to concrete host ports, or say which is taken. */
export function planPublishedPorts(input: PortPlanInput): RulesetPort[] {
  const { request: req } = input;
  const out: RulesetPort[] = [];
  const rand = seededRandom(input.seed);
  const inUse = (protocol: 'tcp' | 'udp', port: number, hostIp: string | undefined): string | undefined => {
    for (const e of [...input.existing, ...out]) {
      if (e.protocol === protocol && e.hostPort === port && overlaps(e.hostIp, hostIp)) return `by ${e.owner}`;
    }
    for (const b of input.bound) {
      if (b.protocol === protocol && b.port === port && overlaps(b.address, hostIp)) return `on the host (${b.address}:${port})`;
    }
    return undefined;
  };
  req.ports.forEach((p, i) => {
    const path = `services.${req.service}.ports[${i}]`;
    const protocol = (p.protocol ?? 'tcp').toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp') {
      throw new TscError('ERR_UNSUPPORTED', `service ${req.service}: protocol ${protocol} is not supported (tcp or udp)`, {
        path: `${path}.protocol`,
      });
    }
    const hostIp = p.host_ip === undefined || p.host_ip === '' ? undefined : p.host_ip;
    const range = parsePublished(p.published, `${path}.published`, req.service);
    let hostPort: number | undefined;
    if (range === undefined) {
      const [lo, hi] = input.ephemeral;
      const span = hi - lo + 1;
      const start = Math.floor(rand() * span);
      for (let k = 0; k < span && hostPort === undefined; k++) {
        const cand = lo + ((start + k) % span);
        if (inUse(protocol, cand, hostIp) === undefined) hostPort = cand;
      }
      if (hostPort === undefined) {
        throw new TscError('ERR_CONFLICT', `service ${req.service}: no free host port left in ${lo}-${hi}`, { path });
      }
    } else {
      let why: string | undefined;
      for (let cand = range[0]; cand <= range[1] && hostPort === undefined; cand++) {
        why = inUse(protocol, cand, hostIp);
        if (why === undefined) hostPort = cand;
      }
      if (hostPort === undefined) {
        const what = range[0] === range[1] ? `host port ${range[0]}/${protocol}` : `every host port in ${range[0]}-${range[1]}/${protocol}`;
        throw new TscError('ERR_CONFLICT', `service ${req.service}: ports[${i}]: ${what} is already in use ${why ?? ''}`.trimEnd(), {
          path: `${path}.published`,
          hint: 'choose another published port, or stop what holds it',
        });
      }
    }
    const v6Host = hostIp !== undefined && hostIp.includes(':');
    if (req.ipv4 !== undefined && !v6Host) {
      out.push({ family: 4, protocol, hostIp, hostPort, containerIp: req.ipv4, containerPort: p.target, owner: req.container });
    }
    if (req.ipv6 !== undefined && (hostIp === undefined || v6Host)) {
      out.push({ family: 6, protocol, hostIp, hostPort, containerIp: req.ipv6, containerPort: p.target, owner: req.container });
    }
  });
  return out;
}

function hexToAddress(hex: string): string {
  if (hex.length === 8) {
    // Little-endian 32-bit word.
    const b = [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16));
    return b.join('.');
  }
  const groups: string[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    const bytes = [6, 4, 2, 0].map((i) => word.slice(i, i + 2));
    groups.push(`${bytes[0]}${bytes[1]}`, `${bytes[2]}${bytes[3]}`);
  }
  const all = groups.map((g) => parseInt(g, 16).toString(16));
  const text = all.join(':');
  return text === '0:0:0:0:0:0:0:0' ? '::' : text;
}

/** Parse one /proc/net/{tcp,udp}{,6} file: listening TCP sockets, bound UDP sockets. */
export function parseProcNet(text: string, protocol: 'tcp' | 'udp'): BoundSocket[] {
  const out: BoundSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    const state = cols[3];
    if (local === undefined || state === undefined) continue;
    if (protocol === 'tcp' && state !== '0A') continue;
    if (protocol === 'udp' && state !== '07') continue;
    const [addr, port] = local.split(':');
    if (addr === undefined || port === undefined) continue;
    out.push({ protocol, address: hexToAddress(addr), port: parseInt(port, 16) });
  }
  return out;
}
