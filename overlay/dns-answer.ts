/**
 * The embedded DNS server's brain: a pure function from (query, table, asker, seed) to either
 * a reply or "forward this to these upstreams". Names are scoped: a container only sees the
 * endpoints of the networks it is on (found from the query's source address), as with
 * Docker's embedded DNS. Several containers behind one name answer with all their addresses,
 * shuffled by the seed (dnsrr). TTL 600.
 */
import { addressOfPtrName, canonicalIp, isIp } from './ip-addr.js';
import { shuffled } from './seeded-random.js';

export const DNS_TTL = 600;

export const QTYPE = { A: 1, PTR: 12, AAAA: 28, SRV: 33 } as const;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** One container on one network, with every name it answers to there. */
export interface DnsEndpoint {
  /** Container name (the PTR answer is `<container>.<network>`). */
  container: string;
  network: string;
  ipv4?: string | undefined;
  ipv6?: string | undefined;
  /** Service name, container name, aliases, hostname: matched without case. */
  names: string[];
  /** Ports for SRV (`_<name or port>._<protocol>.<name>`). */
  srv?: { name?: string | undefined; protocol: 'tcp' | 'udp'; port: number }[] | undefined;
  /** The container's own `dns:` servers: where its other queries go instead of the host's. */
  upstreams?: string[] | undefined;
}

export interface DnsTable {
  endpoints: DnsEndpoint[];
  /** The host's resolvers (from /etc/resolv.conf, at most 3). */
  upstreams: string[];
}

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export interface DnsQuery {
  id: number;
  opcode: number;
  rd: boolean;
  questions: DnsQuestion[];
}

export type DnsRecordData =
  | { address: string }
  | { domain: string }
  | { priority: number; weight: number; port: number; target: string };

export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: DnsRecordData;
}

export interface DnsReply {
  id: number;
  rd: boolean;
  rcode: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  additionals: DnsRecord[];
}

export type DnsDecision = { kind: 'reply'; reply: DnsReply } | { kind: 'forward'; upstreams: string[] };

function norm(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function reply(q: DnsQuery, rcode: number, answers: DnsRecord[] = [], additionals: DnsRecord[] = []): DnsDecision {
  return { kind: 'reply', reply: { id: q.id, rd: q.rd, rcode, questions: q.questions, answers, additionals } };
}

interface Scope {
  mine: DnsEndpoint[];
  visible: DnsEndpoint[];
  /** lower-case name -> visible endpoints answering to it. */
  names: Map<string, DnsEndpoint[]>;
}

interface TableIndex {
  byAddress: Map<string, DnsEndpoint[]>;
  scopes: Map<string, Scope>;
}

// Lookups are indexed once per table (tables are replaced, never mutated): memoisation that
// keeps answerQuery a function of its arguments while the server answers in O(1).
const indexes = new WeakMap<DnsTable, TableIndex>();

function indexOf(table: DnsTable): TableIndex {
  let ix = indexes.get(table);
  if (ix === undefined) {
    const byAddress = new Map<string, DnsEndpoint[]>();
    for (const e of table.endpoints) {
      for (const a of [e.ipv4, e.ipv6]) {
        if (a !== undefined) byAddress.set(a, [...(byAddress.get(a) ?? []), e]);
      }
    }
    ix = { byAddress, scopes: new Map() };
    indexes.set(table, ix);
  }
  return ix;
}

/** The endpoints the asker may see: those on the networks its source address is on. */
export function scopeFor(table: DnsTable, asker: string): Scope {
  const ix = indexOf(table);
  const cached = ix.scopes.get(asker);
  if (cached !== undefined) return cached;
  let mine = ix.byAddress.get(asker);
  if (mine === undefined && isIp(asker.replace(/^::ffff:(?=\d+\.)/, ''))) {
    mine = ix.byAddress.get(canonicalIp(asker.replace(/^::ffff:(?=\d+\.)/, '')));
  }
  const containers = new Set((mine ?? []).map((e) => e.container));
  // The asker is a container: it sees every network that container is on, not only the one
  // its query came from.
  const nets = new Set(table.endpoints.filter((x) => containers.has(x.container)).map((x) => x.network));
  const visible = table.endpoints.filter((e) => nets.has(e.network));
  const names = new Map<string, DnsEndpoint[]>();
  for (const e of visible) {
    for (const n of e.names) {
      const k = norm(n);
      names.set(k, [...(names.get(k) ?? []), e]);
    }
  }
  const scope: Scope = { mine: mine ?? [], visible, names };
  if (ix.scopes.size < 10_000) ix.scopes.set(asker, scope);
  return scope;
}

function addressRecords(name: string, type: number, eps: DnsEndpoint[], seed: number): DnsRecord[] {
  const key = type === QTYPE.A ? 'ipv4' : 'ipv6';
  const seen = new Set<string>();
  for (const e of eps) {
    const a = e[key];
    if (a !== undefined) seen.add(a);
  }
  return shuffled([...seen], seed).map((address) => ({ name, type, class: 1, ttl: DNS_TTL, data: { address } }));
}

export function answerQuery(q: DnsQuery, table: DnsTable, asker: string, seed: number): DnsDecision {
  if (q.opcode !== 0) return reply(q, RCODE.NOTIMP);
  const question = q.questions[0];
  if (q.questions.length !== 1 || question === undefined) return reply(q, RCODE.FORMERR);
  const { visible, mine, names } = scopeFor(table, asker);
  // The server listens on bridge gateways, which other machines may route to: it serves
  // containers only, never as an open resolver.
  if (mine.length === 0) return reply(q, RCODE.REFUSED);
  const qname = norm(question.name);
  const own = mine.find((e) => e.upstreams !== undefined && e.upstreams.length > 0)?.upstreams;
  const forward: DnsDecision = { kind: 'forward', upstreams: own ?? table.upstreams };

  if (question.type === QTYPE.PTR) {
    const addr = addressOfPtrName(qname);
    if (addr === undefined) return forward;
    const hit = visible.find((e) => e.ipv4 === addr || e.ipv6 === addr);
    if (hit === undefined) return forward;
    return reply(q, RCODE.NOERROR, [{ name: question.name, type: QTYPE.PTR, class: 1, ttl: DNS_TTL, data: { domain: `${hit.container}.${hit.network}` } }]);
  }

  if (question.type === QTYPE.SRV) {
    const m = /^_([^.]+)\._(tcp|udp)\.(.+)$/.exec(qname);
    if (m === null) return forward;
    const [, svc, proto, host] = m as unknown as [string, string, string, string];
    const eps = names.get(host) ?? [];
    if (eps.length === 0) return forward;
    const answers: DnsRecord[] = [];
    const additionals: DnsRecord[] = [];
    for (const e of shuffled(eps, seed)) {
      for (const p of e.srv ?? []) {
        if (p.protocol !== proto || (p.name !== svc && String(p.port) !== svc)) continue;
        answers.push({ name: question.name, type: QTYPE.SRV, class: 1, ttl: DNS_TTL, data: { priority: 0, weight: 0, port: p.port, target: e.container } });
        if (e.ipv4 !== undefined) additionals.push({ name: e.container, type: QTYPE.A, class: 1, ttl: DNS_TTL, data: { address: e.ipv4 } });
      }
    }
    return reply(q, RCODE.NOERROR, answers, additionals);
  }

  const eps = names.get(qname) ?? [];
  if (eps.length === 0) return forward;
  if (question.type === QTYPE.A || question.type === QTYPE.AAAA) {
    return reply(q, RCODE.NOERROR, addressRecords(question.name, question.type, eps, seed));
  }
  // A name we own but a type we do not hold (MX, TXT, ...): no data, never leaked upstream.
  return reply(q, RCODE.NOERROR);
}
