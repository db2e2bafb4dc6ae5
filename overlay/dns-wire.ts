/**
 * DNS messages on the wire (RFC 1035), hand-written for the hot path: a query is decoded
 * without allocation beyond its name, and a reply is written in one pass, names in answers
 * pointing back at the question (0xC00C). The tests read what this writes with dns2's parser,
 * an independent implementation.
 */
import { parseIp } from './ip-addr.js';
import type { DnsQuery, DnsRecord, DnsReply } from './dns-answer.js';
import { QTYPE, RCODE } from './dns-answer.js';

function readName(buf: Buffer, start: number): { name: string; end: number } | undefined {
  const labels: string[] = [];
  let at = start;
  let end = -1;
  for (let hops = 0; hops < 128; hops++) {
    if (at >= buf.length) return undefined;
    const len = buf[at] as number;
    if (len === 0) {
      if (end < 0) end = at + 1;
      return { name: labels.length === 0 ? '.' : labels.join('.'), end };
    }
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= buf.length) return undefined;
      if (end < 0) end = at + 2;
      at = ((len & 0x3f) << 8) | (buf[at + 1] as number);
      continue;
    }
    if (len > 63 || at + 1 + len > buf.length) return undefined;
    labels.push(buf.toString('latin1', at + 1, at + 1 + len));
    at += 1 + len;
  }
  return undefined;
}

/** Decode a query, or undefined when the bytes are not a DNS query. */
export function decodeQuery(buf: Buffer): DnsQuery | undefined {
  if (buf.length < 12) return undefined;
  const flags = buf.readUInt16BE(2);
  if ((flags & 0x8000) !== 0) return undefined;
  const qdcount = buf.readUInt16BE(4);
  const questions: DnsQuery['questions'] = [];
  let at = 12;
  for (let i = 0; i < qdcount && i < 4; i++) {
    const n = readName(buf, at);
    if (n === undefined || n.end + 4 > buf.length) return undefined;
    questions.push({ name: n.name, type: buf.readUInt16BE(n.end), class: buf.readUInt16BE(n.end + 2) });
    at = n.end + 4;
  }
  if (qdcount > 4) questions.push({ name: '', type: 0, class: 0 });
  return { id: buf.readUInt16BE(0), opcode: (flags >> 11) & 0xf, rd: (flags & 0x0100) !== 0, questions };
}

const nameCache = new Map<string, Buffer>();

/** A name as length-prefixed labels; cached, since the same few names are written again and again. */
function encodedName(n: string): Buffer {
  const hit = nameCache.get(n);
  if (hit !== undefined) return hit;
  const clean = n.endsWith('.') ? n.slice(0, -1) : n;
  const parts: number[] = [];
  if (clean !== '') {
    for (const label of clean.split('.')) {
      const len = Math.min(label.length, 63);
      parts.push(len);
      for (let i = 0; i < len; i++) parts.push(label.charCodeAt(i) & 0xff);
    }
  }
  parts.push(0);
  const enc = Buffer.from(parts);
  if (nameCache.size > 4096) nameCache.clear();
  nameCache.set(n, enc);
  return enc;
}

function rdataOf(d: DnsRecord['data']): Buffer {
  if ('address' in d) {
    const v4 = d.address.includes(':') ? undefined : d.address.split('.');
    if (v4 !== undefined && v4.length === 4) return Buffer.from(v4.map((o) => Number(o) & 0xff));
    const { value } = parseIp(d.address);
    const out = Buffer.alloc(16);
    for (let i = 0; i < 16; i++) out[i] = Number((value >> BigInt((15 - i) * 8)) & 0xffn);
    return out;
  }
  if ('domain' in d) return encodedName(d.domain);
  const target = encodedName(d.target);
  const out = Buffer.alloc(6 + target.length);
  out.writeUInt16BE(d.priority, 0);
  out.writeUInt16BE(d.weight, 2);
  out.writeUInt16BE(d.port, 4);
  target.copy(out, 6);
  return out;
}

const rdataCache = new Map<string, Buffer>();

/** Record data bytes, cached by content (the same addresses are answered again and again). */
function cachedRdata(d: DnsRecord['data']): Buffer {
  const key = 'address' in d ? d.address : 'domain' in d ? `d:${d.domain}` : `s:${d.priority}:${d.weight}:${d.port}:${d.target}`;
  let hit = rdataCache.get(key);
  if (hit === undefined) {
    hit = rdataOf(d);
    if (rdataCache.size > 4096) rdataCache.clear();
    rdataCache.set(key, hit);
  }
  return hit;
}

function put16(b: Buffer, at: number, v: number): number {
  b[at] = (v >> 8) & 0xff;
  b[at + 1] = v & 0xff;
  return at + 2;
}

/** Write a reply in one pass into a buffer of exactly the right size. */
export function encodeReply(r: DnsReply): Buffer {
  const first = r.questions[0]?.name;
  const qnames = r.questions.map((q) => encodedName(q.name));
  const records = [...r.answers, ...r.additionals].map((rec) => ({
    rec,
    owner: first !== undefined && rec.name === first ? undefined : encodedName(rec.name),
    rdata: cachedRdata(rec.data),
  }));
  let size = 12;
  for (const q of qnames) size += q.length + 4;
  for (const x of records) size += (x.owner === undefined ? 2 : x.owner.length) + 10 + x.rdata.length;
  const b = Buffer.allocUnsafe(size);
  let at = put16(b, 0, r.id);
  // QR, opcode 0, RD copied, RA set.
  at = put16(b, at, 0x8000 | (r.rd ? 0x0100 : 0) | 0x0080 | (r.rcode & 0xf));
  at = put16(b, at, r.questions.length);
  at = put16(b, at, r.answers.length);
  at = put16(b, at, 0);
  at = put16(b, at, r.additionals.length);
  r.questions.forEach((q, i) => {
    const n = qnames[i] as Buffer;
    n.copy(b, at);
    at += n.length;
    at = put16(b, at, q.type);
    at = put16(b, at, q.class);
  });
  for (const { rec, owner, rdata } of records) {
    if (owner === undefined) at = put16(b, at, 0xc00c);
    else {
      owner.copy(b, at);
      at += owner.length;
    }
    at = put16(b, at, rec.type);
    at = put16(b, at, rec.class);
    at = put16(b, at, (rec.ttl >>> 16) & 0xffff);
    at = put16(b, at, rec.ttl & 0xffff);
    at = put16(b, at, rdata.length);
    rdata.copy(b, at);
    at += rdata.length;
  }
  if (at !== size) throw new Error(`dns encode: wrote ${at} bytes of ${size}`);
  return b;
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

export { QTYPE };
