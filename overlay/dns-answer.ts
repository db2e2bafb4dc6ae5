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

/** The endpoints the asker may see: those on the networks its source address is on. */
export function scopeFor(table: DnsTable, asker: string): { visible: DnsEndpoint[]; mine: DnsEndpoint[] } {
  const src = isIp(asker) ? canonicalIp(asker.replace(/^::ffff:(?=\d+\.)/, '')) : asker;
  const mine = table.endpoints.filter((e) => e.ipv4 === src || e.ipv6 === src);
  const nets = new Set(mine.flatMap((e) => {
    // The asker is a container: it sees every network that container is on, not only the
    // one its query came from.
    return table.endpoints.filter((x) => x.container === e.container).map((x) => x.network);
  }));
  return { visible: table.endpoints.filter((e) => nets.has(e.network)), mine };
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
  const { visible, mine } = scopeFor(table, asker);
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
    const eps = visible.filter((e) => e.names.some((n) => norm(n) === host));
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

  const eps = visible.filter((e) => e.names.some((n) => norm(n) === qname));
  if (eps.length === 0) return forward;
  if (question.type === QTYPE.A || question.type === QTYPE.AAAA) {
    return reply(q, RCODE.NOERROR, addressRecords(question.name, question.type, eps, seed));
  }
  // A name we own but a type we do not hold (MX, TXT, ...): no data, never leaked upstream.
  return reply(q, RCODE.NOERROR);
}
