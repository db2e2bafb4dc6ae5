/**
 * Host ports held while their DNAT rules live, as docker-proxy holds them: a listening TCP
 * socket (or a bound UDP socket) on the published address and port. Published traffic never
 * reaches these sockets (nat prerouting and output rewrite it first); they exist so that the
 * kernel refuses the port to any other process, and so that a port taken between our
 * /proc/net check and the rule is caught at bind time instead of being silently shadowed.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';

import type { RulesetPort } from './nft-ruleset.js';

type Held = { kind: 'tcp'; server: Server } | { kind: 'udp'; socket: UdpSocket };

/** The identity of a reservation: family, protocol, address and port. */
export function reservationKey(p: Pick<RulesetPort, 'family' | 'protocol' | 'hostIp' | 'hostPort'>): string {
  return `${p.family}/${p.protocol}/${p.hostIp ?? ''}/${p.hostPort}`;
}

export interface PortReservations {
  /** Hold these ports; on the first failure release what this call took and throw (the errno error). */
  reserve(ports: readonly RulesetPort[]): Promise<void>;
  /** Hold exactly `ports`: release the others, take the missing ones; failures are returned, not thrown. */
  reconcile(ports: readonly RulesetPort[]): Promise<{ port: RulesetPort; error: Error }[]>;
  held(): string[];
  close(): Promise<void>;
}

function bindAddress(p: RulesetPort): string {
  return p.hostIp ?? (p.family === 4 ? '0.0.0.0' : '::');
}

async function take(p: RulesetPort): Promise<Held> {
  const host = bindAddress(p);
  if (p.protocol === 'tcp') {
    // Anything that does reach the socket (nothing should) is closed at once.
    const server = createServer((s) => s.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: p.hostPort, exclusive: true, ipv6Only: p.family === 6 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return { kind: 'tcp', server };
  }
  const socket = createSocket({ type: p.family === 4 ? 'udp4' : 'udp6', ipv6Only: p.family === 6 });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: host, port: p.hostPort, exclusive: true }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return { kind: 'udp', socket };
}

async function drop(h: Held): Promise<void> {
  if (h.kind === 'tcp') await new Promise<void>((r) => h.server.close(() => r()));
  else await new Promise<void>((r) => h.socket.close(() => r()));
}

export function createPortReservations(): PortReservations {
  const held = new Map<string, Held>();

  async function reserve(ports: readonly RulesetPort[]): Promise<void> {
    const taken: string[] = [];
    try {
      for (const p of ports) {
        const key = reservationKey(p);
        if (held.has(key)) continue;
        held.set(key, await take(p));
        taken.push(key);
      }
    } catch (e) {
      for (const key of taken) {
        const h = held.get(key);
        held.delete(key);
        if (h !== undefined) await drop(h);
      }
      throw e;
    }
  }

  return {
    reserve,
    async reconcile(ports) {
      const want = new Map(ports.map((p) => [reservationKey(p), p]));
      for (const [key, h] of [...held]) {
        if (!want.has(key)) {
          held.delete(key);
          await drop(h);
        }
      }
      const failures: { port: RulesetPort; error: Error }[] = [];
      for (const p of want.values()) {
        await reserve([p]).catch((error: unknown) => failures.push({ port: p, error: error as Error }));
      }
      return failures;
    },
    held: () => [...held.keys()].sort(),
    async close() {
      for (const h of held.values()) await drop(h);
      held.clear();
    },
  };
}
