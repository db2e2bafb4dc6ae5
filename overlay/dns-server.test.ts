/** The DNS server shell over real loopback sockets, with a tiny local upstream (never the internet). */
import dgram from 'node:dgram';
import net from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { QTYPE, RCODE } from './dns-answer.js';
import type { DnsServer } from './dns-server.js';
import { createDnsServer } from './dns-server.js';
import dns2 from 'dns2';
import type { Upstream } from './testing/upstream-dns.js';
import { startUpstream } from './testing/upstream-dns.js';

const { Packet } = dns2;

function encodeQuery(name: string, type: number, id = 4242): Buffer {
  const p = new Packet();
  p.header.id = id;
  p.header.rd = 1;
  p.questions.push(new Packet.Question(name, type, 1));
  return p.toBuffer();
}

function askUdp(address: string, port: number, msg: Buffer): Promise<dns2.Packet> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => { s.close(); reject(new Error('udp timeout')); }, 3000);
    s.on('message', (m) => { clearTimeout(t); s.close(); resolve(Packet.parse(m)); });
    s.send(msg, port, address);
  });
}

function askTcp(address: string, port: number, msg: Buffer): Promise<dns2.Packet> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: address, port });
    let buf = Buffer.alloc(0);
    s.on('error', reject);
    s.on('connect', () => {
      const h = Buffer.alloc(2);
      h.writeUInt16BE(msg.length);
      s.write(Buffer.concat([h, msg]));
    });
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        s.destroy();
        resolve(Packet.parse(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      }
    });
  });
}

describe('embedded DNS server on loopback', () => {
  const addr = `127.0.0.${2 + Math.floor(Math.random() * 250)}`;
  const port = 30000 + Math.floor(Math.random() * 9000);
  let server: DnsServer;
  let upstream: Upstream;

  beforeAll(async () => {
    upstream = await startUpstream(addr, port + 1);
    server = createDnsServer({
      timeoutMs: 500,
      table: {
        upstreams: ['127.0.0.1:9', `${addr}:${port + 1}`],
        endpoints: [
          { container: 'p-web-1', network: 'n', ipv4: '172.30.0.2', names: ['web'] },
          { container: 'p-web-2', network: 'n', ipv4: '172.30.0.3', names: ['web'] },
          // the asker: the test process, talking from 127.0.0.1
          { container: 'client', network: 'n', ipv4: '127.0.0.1', names: ['client'] },
        ],
      },
    });
    await server.listen({ address: addr, port });
  });

  afterAll(async () => {
    await server.close();
    await upstream.close();
  });

  it('answers a service name over UDP and TCP with every address', async () => {
    for (const ask of [askUdp, askTcp]) {
      const r = await ask(addr, port, encodeQuery('web', QTYPE.A));
      expect(r.header.id).toBe(4242);
      expect(r.answers.map((a) => a.address).sort()).toEqual(['172.30.0.2', '172.30.0.3']);
      expect(r.answers[0]?.ttl).toBe(600);
    }
  });

  it('forwards other names, skipping a dead upstream', async () => {
    const r = await askUdp(addr, port, encodeQuery('name.up.test', QTYPE.A));
    expect(r.answers.map((a) => a.address)).toEqual(['192.0.2.7']);
  });

  it('passes NXDOMAIN and SERVFAIL through', async () => {
    expect((await askUdp(addr, port, encodeQuery('nope.example', QTYPE.A))).header.rcode).toBe(RCODE.NXDOMAIN);
    expect((await askUdp(addr, port, encodeQuery('broken.up.test', QTYPE.A))).header.rcode).toBe(RCODE.SERVFAIL);
  });

  it('retries over TCP when the upstream truncates', async () => {
    const before = upstream.tcpQueries;
    const r = await askUdp(addr, port, encodeQuery('big.up.test', QTYPE.A));
    expect(r.answers.map((a) => a.address)).toEqual(['192.0.2.8']);
    expect(upstream.tcpQueries).toBe(before + 1);
  });

  it('answers SERVFAIL when no upstream answers', async () => {
    server.setTable({ ...server.table(), upstreams: ['127.0.0.1:9'] });
    expect((await askUdp(addr, port, encodeQuery('other.up.test', QTYPE.A))).header.rcode).toBe(RCODE.SERVFAIL);
  });

  it('sees a new table at once', async () => {
    server.setTable({ ...server.table(), endpoints: server.table().endpoints.filter((e) => e.container !== 'p-web-2') });
    const r = await askUdp(addr, port, encodeQuery('web', QTYPE.A));
    expect(r.answers.map((a) => a.address)).toEqual(['172.30.0.2']);
  });
});

describe('embedded DNS server with a worker thread', () => {
  const addr = `127.0.0.${2 + Math.floor(Math.random() * 250)}`;
  const port = 40000 + Math.floor(Math.random() * 9000);
  let server: DnsServer;
  const table = (ip: string) => ({ endpoints: [{ container: 'p-web-1', network: 'n', ipv4: ip, names: ['web'] }, { container: 'me', network: 'n', ipv4: '127.0.0.1', names: ['me'] }], upstreams: [] });

  beforeAll(async () => {
    server = createDnsServer({ table: table('10.3.0.2'), workers: 1 });
    await server.listen({ address: addr, port });
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers on the next port from the worker, the same as on its own, UDP and TCP', async () => {
    for (const p of [port, port + 1]) {
      expect((await askUdp(addr, p, encodeQuery('web', QTYPE.A))).answers.map((a) => a.address)).toEqual(['10.3.0.2']);
      expect((await askTcp(addr, p, encodeQuery('web', QTYPE.A))).answers.map((a) => a.address)).toEqual(['10.3.0.2']);
    }
  });

  it('never serves a stale answer once a change is applied, on either thread, UDP or TCP, however warm', async () => {
    const me = { container: 'me', network: 'n', ipv4: '127.0.0.1', names: ['me'] };
    const ep = (container: string, ip: string) => ({ container, network: 'n', ipv4: ip, names: ['web', container] });
    // start, one more container, one moved (new address), one gone, none left
    const steps: [ReturnType<typeof ep>[], Record<string, string[]>][] = [
      [[ep('w1', '10.4.0.2')], { web: ['10.4.0.2'], w1: ['10.4.0.2'], w2: [] }],
      [[ep('w1', '10.4.0.2'), ep('w2', '10.4.0.3')], { web: ['10.4.0.2', '10.4.0.3'], w1: ['10.4.0.2'], w2: ['10.4.0.3'] }],
      [[ep('w1', '10.4.0.7'), ep('w2', '10.4.0.3')], { web: ['10.4.0.3', '10.4.0.7'], w1: ['10.4.0.7'], w2: ['10.4.0.3'] }],
      [[ep('w2', '10.4.0.3')], { web: ['10.4.0.3'], w1: [], w2: ['10.4.0.3'] }],
      [[], { web: [], w1: [], w2: [] }],
    ];
    const seen = async (p: number, name: string, tcp: boolean) =>
      (await (tcp ? askTcp : askUdp)(addr, p, encodeQuery(name, QTYPE.A))).answers.map((a) => a.address).sort();
    for (const [endpoints, want] of steps) {
      server.setTable({ endpoints: [...endpoints, me], upstreams: [] });
      await server.tableApplied();
      // Asked several times per thread: the first answer is learned, the rest come from the fast path.
      for (const p of [port, port + 1]) {
        for (const [name, addrs] of Object.entries(want)) {
          for (let i = 0; i < 3; i++) expect(await seen(p, name, false)).toEqual(addrs);
          expect(await seen(p, name, true)).toEqual(addrs);
        }
      }
    }
  });

  it('hands the worker every new table, and lets go of its port on close', async () => {
    server.setTable(table('10.3.0.9'));
    await server.tableApplied();
    expect((await askUdp(addr, port + 1, encodeQuery('web', QTYPE.A))).answers.map((a) => a.address)).toEqual(['10.3.0.9']);
    await server.close();
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(port + 1, addr, () => resolve());
    });
    s.close();
  });
});
