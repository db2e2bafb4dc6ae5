import { describe, expect, it } from 'vitest';

import type { DnsQuery, DnsTable } from './dns-answer.js';
import { answerQuery, DNS_TTL, QTYPE, RCODE } from './dns-answer.js';

const table: DnsTable = {
  upstreams: ['10.255.0.53'],
  endpoints: [
    { container: 'p-web-1', network: 'p_front', ipv4: '172.18.0.2', ipv6: 'fd00::2', names: ['p-web-1', 'web', 'www'], srv: [{ name: 'http', protocol: 'tcp', port: 80 }] },
    { container: 'p-web-2', network: 'p_front', ipv4: '172.18.0.3', names: ['p-web-2', 'web'], srv: [{ name: 'http', protocol: 'tcp', port: 80 }] },
    { container: 'p-app-1', network: 'p_front', ipv4: '172.18.0.4', names: ['p-app-1', 'app'] },
    { container: 'p-app-1', network: 'p_back', ipv4: '172.19.0.3', names: ['p-app-1', 'app'], upstreams: ['9.9.9.9'] },
    { container: 'p-db-1', network: 'p_back', ipv4: '172.19.0.2', names: ['p-db-1', 'db', 'DataBase'] },
  ],
};

function query(name: string, type: number = QTYPE.A): DnsQuery {
  return { id: 7, opcode: 0, rd: true, questions: [{ name, type, class: 1 }] };
}

function addresses(name: string, asker: string, seed = 1, type: number = QTYPE.A): string[] | 'forward' {
  const d = answerQuery(query(name, type), table, asker, seed);
  if (d.kind === 'forward') return 'forward';
  return d.reply.answers.map((a) => ('address' in a.data ? a.data.address : '?'));
}

describe('answerQuery', () => {
  it('answers service, container, alias names, case-insensitively, with TTL 600', () => {
    const d = answerQuery(query('WWW.'), table, '172.18.0.4', 1);
    expect(d).toEqual({
      kind: 'reply',
      reply: {
        id: 7, rd: true, rcode: RCODE.NOERROR, questions: [{ name: 'WWW.', type: QTYPE.A, class: 1 }],
        answers: [{ name: 'WWW.', type: QTYPE.A, class: 1, ttl: DNS_TTL, data: { address: '172.18.0.2' } }],
        additionals: [],
      },
    });
    expect(addresses('database', '172.19.0.3')).toEqual(['172.19.0.2']);
    expect(addresses('p-db-1', '172.19.0.3')).toEqual(['172.19.0.2']);
  });

  it('scopes names to the asker\'s networks (found by its source address)', () => {
    expect(addresses('db', '172.18.0.2')).toBe('forward');
    expect(addresses('web', '172.19.0.2')).toBe('forward');
    // app is on both networks, whichever address it asks from
    expect(addresses('db', '172.18.0.4')).toEqual(['172.19.0.2']);
    expect(addresses('db', '::ffff:172.18.0.4')).toEqual(['172.19.0.2']);
    // an unknown source (another machine routing to a gateway) is refused, not forwarded
    const d = answerQuery(query('web'), table, '10.9.9.9', 1);
    expect(d.kind === 'reply' && d.reply.rcode).toBe(RCODE.REFUSED);
  });

  it('returns every address of a service, shuffled by the seed', () => {
    const orders = new Set<string>();
    for (let seed = 0; seed < 20; seed++) {
      const a = addresses('web', '172.18.0.4', seed) as string[];
      expect([...a].sort()).toEqual(['172.18.0.2', '172.18.0.3']);
      orders.add(a.join(','));
    }
    expect(orders.size).toBe(2);
    expect(addresses('web', '172.18.0.4', 5)).toEqual(addresses('web', '172.18.0.4', 5));
  });

  it('answers AAAA with IPv6 addresses, and no data (not a forward) for a name without one', () => {
    expect(addresses('web', '172.18.0.4', 1, QTYPE.AAAA)).toEqual(['fd00::2']);
    expect(addresses('app', '172.18.0.2', 1, QTYPE.AAAA)).toEqual([]);
    expect(addresses('app', '172.18.0.2', 1, 15 /* MX */)).toEqual([]);
  });

  it('answers PTR for visible addresses with container.network', () => {
    const d = answerQuery(query('2.0.19.172.in-addr.arpa', QTYPE.PTR), table, '172.19.0.3', 1);
    expect(d.kind === 'reply' && d.reply.answers[0]?.data).toEqual({ domain: 'p-db-1.p_back' });
    expect(answerQuery(query('2.0.19.172.in-addr.arpa', QTYPE.PTR), table, '172.18.0.2', 1).kind).toBe('forward');
  });

  it('answers SRV by port name or number with targets and their addresses', () => {
    const d = answerQuery(query('_http._tcp.web', QTYPE.SRV), table, '172.18.0.4', 3);
    if (d.kind !== 'reply') throw new Error('expected a reply');
    expect(d.reply.answers.map((a) => a.data).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))).toEqual([
      { priority: 0, weight: 0, port: 80, target: 'p-web-1' },
      { priority: 0, weight: 0, port: 80, target: 'p-web-2' },
    ]);
    expect(d.reply.additionals).toHaveLength(2);
    const byNumber = answerQuery(query('_80._tcp.web', QTYPE.SRV), table, '172.18.0.4', 3);
    expect(byNumber.kind === 'reply' && byNumber.reply.answers).toHaveLength(2);
    const udp = answerQuery(query('_http._udp.web', QTYPE.SRV), table, '172.18.0.4', 3);
    expect(udp.kind === 'reply' && udp.reply.answers).toEqual([]);
  });

  it('forwards other names to the container\'s own dns servers, else the host\'s', () => {
    expect(answerQuery(query('example.org'), table, '172.19.0.3', 1)).toEqual({ kind: 'forward', upstreams: ['9.9.9.9'] });
    expect(answerQuery(query('example.org'), table, '172.19.0.2', 1)).toEqual({ kind: 'forward', upstreams: ['10.255.0.53'] });
  });

  it('refuses malformed queries: FORMERR for two questions, NOTIMP for other opcodes', () => {
    const two = { ...query('web'), questions: [{ name: 'a', type: 1, class: 1 }, { name: 'b', type: 1, class: 1 }] };
    const d = answerQuery(two, table, '172.18.0.4', 1);
    expect(d.kind === 'reply' && d.reply.rcode).toBe(RCODE.FORMERR);
    const upd = answerQuery({ ...query('web'), opcode: 5 }, table, '172.18.0.4', 1);
    expect(upd.kind === 'reply' && upd.reply.rcode).toBe(RCODE.NOTIMP);
  });
});
