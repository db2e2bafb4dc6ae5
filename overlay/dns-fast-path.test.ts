import dns2 from 'dns2';
import { describe, expect, it } from 'vitest';

import type { DnsTable } from './dns-answer.js';
import { answerQuery, QTYPE } from './dns-answer.js';
import { createDnsFastPath } from './dns-fast-path.js';
import { decodeQuery, encodeReply } from './dns-wire.js';

const { Packet } = dns2;

const table: DnsTable = {
  endpoints: [
    { container: 'p-web-1', network: 'n', ipv4: '10.0.0.2', ipv6: 'fd00::2', names: ['web', 'p-web-1'] },
    { container: 'p-web-2', network: 'n', ipv4: '10.0.0.3', names: ['web', 'p-web-2'] },
    { container: 'p-app-1', network: 'n', ipv4: '10.0.0.9', names: ['app', 'p-app-1'] },
    { container: 'p-db-1', network: 'm', ipv4: '10.1.0.2', names: ['db'] },
  ],
  upstreams: ['127.0.0.1'],
};

function query(name: string, type: number, opts: { rd?: boolean; edns?: boolean } = {}): Buffer {
  const p = new Packet();
  p.header.id = 0x4242;
  p.header.rd = opts.rd === false ? 0 : 1;
  p.questions.push(new Packet.Question(name, type, 1));
  const buf = p.toBuffer();
  if (opts.edns !== true) return buf;
  // An EDNS OPT record (root, type 41, 4096-byte payload), as resolvers add to their queries.
  const withOpt = Buffer.concat([buf, Buffer.from('0000291000000000000000', 'hex')]);
  withOpt.writeUInt16BE(1, 10);
  return withOpt;
}

/** The ordinary path's reply bytes, and the fast path's after it learned from it. */
function both(msg: Buffer, asker = '10.0.0.9'): { slow: Buffer | undefined; fast: Buffer | undefined } {
  const q = decodeQuery(msg);
  if (q === undefined) throw new Error('bad query');
  const d = answerQuery(q, table, asker, 7);
  const fp = createDnsFastPath();
  fp.learn(msg, asker, d);
  return { slow: d.kind === 'reply' ? encodeReply(d.reply) : undefined, fast: fp.answer(msg, asker, () => 7) };
}

function answersOf(buf: Buffer): string[] {
  return Packet.parse(buf).answers.map((a: { type: number; address?: string; ttl: number }) => `${a.type}:${a.address ?? ''}:${a.ttl}`).sort();
}

describe('the DNS fast path', () => {
  it('repeats the ordinary answer byte for byte for one address, A and AAAA, any case, RD or not', () => {
    for (const msg of [query('app', QTYPE.A), query('P-WEB-1', QTYPE.AAAA), query('app', QTYPE.A, { rd: false }), query('app', QTYPE.AAAA)]) {
      const { slow, fast } = both(msg);
      expect(fast).toBeDefined();
      expect(fast?.toString('hex')).toBe(slow?.toString('hex'));
    }
  });

  it('answers every address of a service, shuffled, with the same header and question', () => {
    const msg = query('web', QTYPE.A);
    const { slow, fast } = both(msg);
    expect(fast?.subarray(0, 12 + 9).toString('hex')).toBe(slow?.subarray(0, 12 + 9).toString('hex'));
    expect(answersOf(fast as Buffer)).toEqual(['1:10.0.0.2:600', '1:10.0.0.3:600']);
    const fp = createDnsFastPath();
    fp.learn(msg, '10.0.0.9', answerQuery(decodeQuery(msg)!, table, '10.0.0.9', 1));
    const firsts = new Set(Array.from({ length: 40 }, (_, i) => Packet.parse(fp.answer(msg, '10.0.0.9', () => i) as Buffer).answers[0]?.address));
    expect(firsts).toEqual(new Set(['10.0.0.2', '10.0.0.3']));
  });

  it('drops the EDNS record as the ordinary path does', () => {
    const { slow, fast } = both(query('app', QTYPE.A, { edns: true }));
    expect(fast?.toString('hex')).toBe(slow?.toString('hex'));
  });

  it('keeps answers scoped per asker and leaves everything else to the ordinary path', () => {
    const fp = createDnsFastPath();
    const msg = query('app', QTYPE.A);
    fp.learn(msg, '10.0.0.9', answerQuery(decodeQuery(msg)!, table, '10.0.0.9', 1));
    expect(fp.answer(msg, '10.1.0.2', () => 1)).toBeUndefined();
    for (const other of [query('db', QTYPE.A), query('example.org', QTYPE.A), query('9.0.0.10.in-addr.arpa', QTYPE.PTR), query('_http._tcp.web', QTYPE.SRV)]) {
      const d = answerQuery(decodeQuery(other)!, table, '10.0.0.9', 1);
      fp.learn(other, '10.0.0.9', d);
      expect(fp.answer(other, '10.0.0.9', () => 1)).toBeUndefined();
    }
    fp.clear();
    expect(fp.answer(msg, '10.0.0.9', () => 1)).toBeUndefined();
  });
});
