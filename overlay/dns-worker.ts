/**
 * A worker thread running one more embedded DNS server (see dns-server.ts `workers`): the
 * main thread tells it where to listen (the same gateways, the next ports) and hands it each
 * new table; containers' 127.0.0.11 traffic is spread over the ports by nftables (numgen), so
 * the answering work runs on more than one thread.
 */
import { parentPort, workerData } from 'node:worker_threads';

import type { DnsTable } from './dns-answer.js';
import type { DnsListenAddress } from './dns-server.js';
import { createDnsServer } from './dns-server.js';

export type DnsWorkerRequest =
  | { seq: number; kind: 'table'; table: DnsTable }
  | { seq: number; kind: 'listen' | 'unlisten'; at: DnsListenAddress }
  | { seq: number; kind: 'close' };

export interface DnsWorkerReply {
  seq: number;
  error?: string;
}

const port = parentPort;
if (port !== null) {
  const server = createDnsServer({ timeoutMs: (workerData as { timeoutMs?: number } | null)?.timeoutMs });
  port.on('message', (m: DnsWorkerRequest) => {
    const run = async (): Promise<void> => {
      if (m.kind === 'table') server.setTable(m.table);
      else if (m.kind === 'listen') await server.listen(m.at);
      else if (m.kind === 'unlisten') await server.unlisten(m.at);
      else await server.close();
    };
    run().then(
      () => port.postMessage({ seq: m.seq } satisfies DnsWorkerReply),
      (e: unknown) => port.postMessage({ seq: m.seq, error: e instanceof Error ? e.message : String(e) } satisfies DnsWorkerReply),
    );
  });
}
