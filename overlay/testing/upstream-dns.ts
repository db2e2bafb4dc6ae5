/**
 * A tiny upstream DNS server for tests, on a loopback address (never the internet):
 * `*.up.test` -> A 192.0.2.7; `big.up.test` is truncated over UDP and whole over TCP;
 * `broken.up.test` -> SERVFAIL; everything else NXDOMAIN.
 */
import dgram from 'node:dgram';
import net from 'node:net';

import { RCODE } from '../dns-answer.js';
import { decodeQuery, encodeReply } from '../dns-wire.js';

export interface Upstream {
  address: string;
  port: number;
  udpQueries: number;
  tcpQueries: number;
  close(): Promise<void>;
}

function answer(buf: Buffer, overTcp: boolean): Buffer | undefined {
  const q = decodeQuery(buf);
  const qq = q?.questions[0];
  if (q === undefined || qq === undefined) return undefined;
  const name = qq.name.toLowerCase();
  const base = { id: q.id, rd: q.rd, questions: q.questions, answers: [], additionals: [] };
  if (name === 'broken.up.test') return encodeReply({ ...base, rcode: RCODE.SERVFAIL });
  if (!name.endsWith('.up.test')) return encodeReply({ ...base, rcode: RCODE.NXDOMAIN });
  if (qq.type !== 1) return encodeReply({ ...base, rcode: RCODE.NOERROR });
  if (name === 'big.up.test' && !overTcp) {
    const r = encodeReply({ ...base, rcode: RCODE.NOERROR });
    r[2] = (r[2] ?? 0) | 0x02;
    return r;
  }
  const address = name === 'big.up.test' ? '192.0.2.8' : '192.0.2.7';
  return encodeReply({ ...base, rcode: RCODE.NOERROR, answers: [{ name: qq.name, type: 1, class: 1, ttl: 60, data: { address } }] });
}

export async function startUpstream(address: string, port: number): Promise<Upstream> {
  const udp = dgram.createSocket('udp4');
  const tcp = net.createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('error', () => s.destroy());
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        self.tcpQueries++;
        const r = answer(buf.subarray(2, 2 + buf.readUInt16BE(0)), true);
        if (r !== undefined) {
          const h = Buffer.alloc(2);
          h.writeUInt16BE(r.length);
          s.end(Buffer.concat([h, r]));
        }
      }
    });
  });
  const self: Upstream = {
    address,
    port,
    udpQueries: 0,
    tcpQueries: 0,
    close: async () => {
      await new Promise<void>((r) => udp.close(() => r()));
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
  udp.on('message', (m, rinfo) => {
    self.udpQueries++;
    const r = answer(m, false);
    if (r !== undefined) udp.send(r, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => udp.bind(port, address, () => r()));
  await new Promise<void>((r) => tcp.listen(port, address, () => r()));
  return self;
}
