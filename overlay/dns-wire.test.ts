import dns2 from 'dns2';
import { describe, expect, it } from 'vitest';

import { QTYPE, RCODE } from './dns-answer.js';
import { canonicalIp } from './ip-addr.js';
import { decodeQuery, encodeReply, isTruncated, servfailFor } from './dns-wire.js';

const { Packet } = dns2;

function dns2Query(name: string, type: number): Buffer {
  const p = new Packet();
  p.header.id = 0xbeef;
  p.header.rd = 1;
  p.questions.push(new Packet.Question(name, type, 1));
  return p.toBuffer();
}

describe('dns wire format', () => {
  it('decodes what dns2 encodes', () => {
    expect(decodeQuery(dns2Query('Web.Example', QTYPE.AAAA))).toEqual({
      id: 0xbeef, opcode: 0, rd: true, questions: [{ name: 'Web.Example', type: QTYPE.AAAA, class: 1 }],
    });
    expect(decodeQuery(Buffer.from([1, 2, 3]))).toBeUndefined();
  });

  it('writes replies dns2 reads back: A, AAAA, PTR, SRV with additionals', () => {
    const buf = encodeReply({
      id: 7, rd: true, rcode: RCODE.NOERROR,
      questions: [{ name: 'web', type: QTYPE.A, class: 1 }],
      answers: [
        { name: 'web', type: QTYPE.A, class: 1, ttl: 600, data: { address: '172.18.0.2' } },
        { name: 'web', type: QTYPE.AAAA, class: 1, ttl: 600, data: { address: 'fd00::2' } },
        { name: '2.0.18.172.in-addr.arpa', type: QTYPE.PTR, class: 1, ttl: 600, data: { domain: 'p-web-1.p_front' } },
        { name: '_http._tcp.web', type: QTYPE.SRV, class: 1, ttl: 600, data: { priority: 0, weight: 0, port: 80, target: 'p-web-1' } },
      ],
      additionals: [{ name: 'p-web-1', type: QTYPE.A, class: 1, ttl: 600, data: { address: '172.18.0.2' } }],
    });
    const p = Packet.parse(buf);
    expect(p.header).toMatchObject({ id: 7, qr: 1, rd: 1, ra: 1, rcode: 0 });
    expect(p.questions).toMatchObject([{ name: 'web', type: QTYPE.A, class: 1 }]);
    expect(p.answers).toMatchObject([
      { name: 'web', type: QTYPE.A, ttl: 600, address: '172.18.0.2' },
      { name: 'web', type: QTYPE.AAAA, ttl: 600 },
      { name: '2.0.18.172.in-addr.arpa', type: QTYPE.PTR, domain: 'p-web-1.p_front' },
      { name: '_http._tcp.web', type: QTYPE.SRV, port: 80, target: 'p-web-1' },
    ]);
    expect(canonicalIp(p.answers[1]?.address as string)).toBe('fd00::2');
    expect(p.additionals).toMatchObject([{ name: 'p-web-1', address: '172.18.0.2' }]);
  });

  it('answers SERVFAIL to a query, keeping its id and question, and reads the TC bit', () => {
    const r = Packet.parse(servfailFor(dns2Query('x.test', QTYPE.A)) as Buffer);
    expect(r.header).toMatchObject({ id: 0xbeef, rcode: RCODE.SERVFAIL });
    expect(r.questions[0]?.name).toBe('x.test');
    const tc = Buffer.from(dns2Query('x', 1));
    expect(isTruncated(tc)).toBe(false);
    tc[2] = (tc[2] ?? 0) | 2;
    expect(isTruncated(tc)).toBe(true);
  });
});
