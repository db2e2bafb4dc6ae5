/**
 * DNS messages on the wire, through dns2's Packet codec. Kept apart from the answer function
 * so that one stays pure and free of the codec's types.
 */
import dns2 from 'dns2';

import type { DnsQuery, DnsReply } from './dns-answer.js';
import { RCODE } from './dns-answer.js';

const { Packet } = dns2;

/** Decode a query, or undefined when the bytes are not a DNS query. */
export function decodeQuery(buf: Buffer): DnsQuery | undefined {
  if (buf.length < 12) return undefined;
  try {
    const p = Packet.parse(buf);
    if (p.header.qr !== 0) return undefined;
    return {
      id: p.header.id,
      opcode: p.header.opcode,
      rd: p.header.rd === 1,
      questions: p.questions.map((q) => ({ name: q.name, type: q.type, class: q.class })),
    };
  } catch {
    return undefined;
  }
}

export function encodeReply(r: DnsReply): Buffer {
  const p = new Packet();
  p.header.id = r.id;
  p.header.qr = 1;
  p.header.opcode = 0;
  p.header.aa = 0;
  p.header.rd = r.rd ? 1 : 0;
  p.header.ra = 1;
  p.header.rcode = r.rcode;
  p.questions = r.questions.map((q) => new Packet.Question(q.name, q.type, q.class));
  const res = (x: DnsReply['answers'][number]): dns2.Packet.Resource =>
    ({ name: x.name, type: x.type, class: x.class, ttl: x.ttl, ...x.data }) as unknown as dns2.Packet.Resource;
  p.answers = r.answers.map(res);
  p.additionals = r.additionals.map(res);
  return p.toBuffer();
}

/** SERVFAIL for raw query bytes (used when no upstream answers). */
export function servfailFor(buf: Buffer): Buffer | undefined {
  const q = decodeQuery(buf);
  if (q === undefined) return undefined;
  return encodeReply({ id: q.id, rd: q.rd, rcode: RCODE.SERVFAIL, questions: q.questions, answers: [], additionals: [] });
}

/** Whether a response has the TC (truncated) bit set. */
export function isTruncated(buf: Buffer): boolean {
  return buf.length >= 3 && ((buf[2] ?? 0) & 0x02) !== 0;
}

export function messageId(buf: Buffer): number {
  return buf.length >= 2 ? buf.readUInt16BE(0) : -1;
}
