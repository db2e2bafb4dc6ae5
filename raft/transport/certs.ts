/**
 * Test and benchmark PKI made with `openssl` at run time (no private key is checked in): a
 * cluster CA and one certificate per member, CN `tsc-raft-<id>` (the transport binds a stream to
 * that id) and DNS SAN `tsc-raft-member` (the name every member is dialled as, as swarmkit dials
 * "swarm-manager"). Also a stranger: a certificate of the same shape signed by another CA.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MEMBER_NAME, type TlsMaterial } from './grpc-transport.js';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface MemberFiles {
  ca: string;
  cert: string;
  key: string;
}

function makeCa(dir: string, name: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  openssl(['req', '-x509', '-new', '-key', `${name}.key`, '-sha256', '-days', '2', '-subj', `/CN=${name}`, '-out', `${name}.crt`], dir);
}

function makeCert(dir: string, ca: string, name: string, cn: string, ips: readonly string[] = []): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`], dir);
  writeFileSync(
    join(dir, `${name}.ext`),
    `subjectAltName=DNS:${MEMBER_NAME}${ips.map((a) => `,IP:${a}`).join('')}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n`,
  );
  openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '2', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`],
    dir,
  );
}

/**
 * Writes a CA and member certificates for `ids` into `dir`; returns their file paths by id.
 * `ips(id)` adds IP SANs (for peers that check the address they dial, like etcd).
 */
export function makeClusterPki(dir: string, ids: readonly number[], ips: (id: number) => string[] = () => []): Map<number, MemberFiles> {
  makeCa(dir, 'ca');
  const out = new Map<number, MemberFiles>();
  for (const id of ids) {
    makeCert(dir, 'ca', `member-${id}`, `tsc-raft-${id}`, ips(id));
    out.set(id, { ca: join(dir, 'ca.crt'), cert: join(dir, `member-${id}.crt`), key: join(dir, `member-${id}.key`) });
  }
  return out;
}

/** A member-shaped certificate for `id` signed by a CA the cluster does not trust. */
export function makeStrangerPki(dir: string, id: number): MemberFiles {
  makeCa(dir, 'other-ca');
  makeCert(dir, 'other-ca', `stranger-${id}`, `tsc-raft-${id}`);
  return { ca: join(dir, 'other-ca.crt'), cert: join(dir, `stranger-${id}.crt`), key: join(dir, `stranger-${id}.key`) };
}

export function readTls(f: MemberFiles): TlsMaterial {
  return { ca: readFileSync(f.ca), cert: readFileSync(f.cert), key: readFileSync(f.key) };
}
