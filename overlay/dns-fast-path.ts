/**
 * The embedded DNS server's fast path for the query containers send most: one question, A or
 * AAAA, class IN, for a name we answer. The question is read straight from the bytes (no
 * decoded objects), the answer comes from a memo of what `answerQuery` decided for that asker
 * and name, and the reply is the query's own header and question followed by the records,
 * written in one pass. Anything else (PTR, SRV, forwarded names, compression, odd flags)
 * returns undefined and goes the ordinary way; the memo is emptied whenever the table
 * changes, so answers still change the moment a container joins or leaves.
 */
import type { DnsDecision } from './dns-answer.js';
import { DNS_TTL, QTYPE, RCODE } from './dns-answer.js';
import { parseIp } from './ip-addr.js';
import { shuffled } from './seeded-random.js';

interface Learned {
  type: number;
  /** Record data (4 or 16 bytes each), in the order answerQuery saw the endpoints. */
  rdatas: Buffer[];
}

/** The question of a fast-path-shaped query: its lower-cased key and where it ends. */
interface Question {
  key: string;
  type: number;
  /** Offset just past QTYPE and QCLASS. */
  end: number;
}

function readQuestion(msg: Buffer): Question | undefined {
  const len = msg.length;
  // QR=0, opcode 0 (byte 2 bits 7..3), one question, no answers or authority, at most one
  // additional (an EDNS OPT, which the ordinary path does not echo either).
  if (len < 17 || (msg[2] as number) & 0xf8 || msg[4] !== 0 || msg[5] !== 1 || msg[6] !== 0 || msg[7] !== 0 || msg[8] !== 0 || msg[9] !== 0 || msg[10] !== 0 || (msg[11] as number) > 1) {
    return undefined;
  }
  let at = 12;
  for (;;) {
    const l = msg[at] as number;
    if (l === 0) break;
    if (l > 63 || at + 1 + l >= len) return undefined;
    at += 1 + l;
  }
  if (at === 12 || at + 5 > len) return undefined;
  const type = ((msg[at + 1] as number) << 8) | (msg[at + 2] as number);
  if ((type !== QTYPE.A && type !== QTYPE.AAAA) || msg[at + 3] !== 0 || msg[at + 4] !== 1) return undefined;
  // Length bytes stay in the key (they are < 64, untouched by toLowerCase): labels are exact.
  return { key: `${msg.toString('latin1', 12, at).toLowerCase()}/${type}`, type, end: at + 5 };
}

function rdataOf(address: string): Buffer {
  const { family, value } = parseIp(address);
  const n = family === 4 ? 4 : 16;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = Number((value >> BigInt((n - 1 - i) * 8)) & 0xffn);
  return out;
}

export interface DnsFastPath {
  /** The reply bytes when the query is the common kind and already learned; else undefined. */
  answer(msg: Buffer, asker: string, seed: () => number): Buffer | undefined;
  /** Remember the ordinary path's decision for this query when the fast path can repeat it. */
  learn(msg: Buffer, asker: string, decision: DnsDecision): void;
  /** Forget everything (the table changed). */
  clear(): void;
}

export function createDnsFastPath(limit = 100_000): DnsFastPath {
  let memo = new Map<string, Map<string, Learned>>();
  let size = 0;

  return {
    answer(msg, asker, seed) {
      const q = readQuestion(msg);
      if (q === undefined) return undefined;
      const hit = memo.get(asker)?.get(q.key);
      if (hit === undefined) return undefined;
      const n = hit.rdatas.length;
      const rlen = q.type === QTYPE.A ? 4 : 16;
      const out = Buffer.allocUnsafe(q.end + n * (12 + rlen));
      msg.copy(out, 0, 0, q.end);
      // QR, RD copied, RA, NOERROR; counts: 1 question, n answers, nothing else.
      out[2] = 0x80 | ((msg[2] as number) & 0x01);
      out[3] = 0x80;
      out[6] = n >> 8;
      out[7] = n & 0xff;
      out[8] = 0;
      out[9] = 0;
      out[10] = 0;
      out[11] = 0;
      let at = q.end;
      const order = n > 1 ? shuffled(hit.rdatas, seed()) : hit.rdatas;
      for (const r of order) {
        out[at] = 0xc0;
        out[at + 1] = 0x0c;
        out[at + 2] = 0;
        out[at + 3] = q.type;
        out[at + 4] = 0;
        out[at + 5] = 1;
        out.writeUInt32BE(DNS_TTL, at + 6);
        out[at + 10] = 0;
        out[at + 11] = rlen;
        r.copy(out, at + 12);
        at += 12 + rlen;
      }
      return out;
    },
    learn(msg, asker, d) {
      if (d.kind !== 'reply' || d.reply.rcode !== RCODE.NOERROR || d.reply.additionals.length > 0) return;
      const q = readQuestion(msg);
      if (q === undefined) return;
      if (!d.reply.answers.every((a) => a.type === q.type && 'address' in a.data && a.ttl === DNS_TTL && a.name === d.reply.questions[0]?.name)) return;
      if (size >= limit) {
        memo = new Map();
        size = 0;
      }
      let forAsker = memo.get(asker);
      if (forAsker === undefined) memo.set(asker, (forAsker = new Map()));
      forAsker.set(q.key, { type: q.type, rdatas: d.reply.answers.map((a) => rdataOf((a.data as { address: string }).address)) });
      size++;
    },
    clear() {
      memo = new Map();
      size = 0;
    },
  };
}
