/** The `--peers` list of the KV service: ID=HTTP_ADDR/RAFT_ADDR, comma separated. */
import { TscError } from '../../lib/errors.js';

export interface KvMember {
  http: string;
  raft: string;
}

export function parseKvPeers(spec: string): Map<number, KvMember> {
  const out = new Map<number, KvMember>();
  for (const part of spec.split(',').filter((s) => s.trim() !== '')) {
    const m = /^(\d+)=([^/]+)\/(.+)$/.exec(part.trim());
    if (m === null) {
      throw new TscError('ERR_USAGE', `--peers: "${part}" is not ID=HTTP_ADDR/RAFT_ADDR`, {
        hint: 'e.g. --peers 1=127.0.0.1:8001/127.0.0.1:7001,2=127.0.0.2:8001/127.0.0.2:7001',
      });
    }
    out.set(Number(m[1]), { http: m[2] as string, raft: m[3] as string });
  }
  return out;
}
