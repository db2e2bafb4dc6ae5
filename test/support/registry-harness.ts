/**
 * Test and benchmark support: Debian's real `docker-registry` on 127.0.0.1 with a free port
 * and a temporary storage directory, images pushed into it by skopeo, and a small HTTP proxy
 * that can sit in front of it (for token auth and for cutting connections).
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Poll `fn` until it returns true, or fail after `ms`. */
export async function waitFor(fn: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

export interface RunningRegistry {
  port: number;
  host: string;
  storage: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** A user for `startRegistry({ htpasswd })`: the line is bcrypt (cost 4) of the password. */
export const TEST_REGISTRY_USER = {
  username: 'alice',
  password: 's3cret',
  htpasswd: 'alice:$2b$04$WarE3kCt6xf9KjSOvANKfe.eWQv0UOTv.BjluPVBlTLY7i5EswVBy',
} as const;

export interface RegistryOptions {
  /**
   * `htpasswd` lines (`user:bcrypt-hash`): the registry then asks for basic auth itself
   * (its own htpasswd access controller, realm `tsc-test`).
   */
  htpasswd?: string[];
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<RunningRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'tsc-registry-'));
  const storage = join(dir, 'storage');
  const port = await freePort();
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${storage}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      ...(opts.htpasswd === undefined ? [] : ['auth:', '  htpasswd:', '    realm: tsc-test', `    path: ${join(dir, 'htpasswd')}`]),
      '',
    ].join('\n'),
  );
  if (opts.htpasswd !== undefined) await writeFile(join(dir, 'htpasswd'), `${opts.htpasswd.join('\n')}\n`);
  const child = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ready = opts.htpasswd === undefined ? 200 : 401;
    await waitFor(async () => (await httpStatus(`http://127.0.0.1:${port}/v2/`)) === ready, 15_000, `docker-registry on port ${port} (${stderr})`);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, host: `127.0.0.1:${port}`, storage, process: child, stop };
}

/** Push an OCI layout tag into a registry with skopeo (`all` copies every platform; `destCreds` is `user:password`). */
export function skopeoPush(layoutDir: string, tag: string, dest: string, all = false, destCreds?: string): Promise<void> {
  const args = ['copy', '--quiet', '--dest-tls-verify=false', ...(all ? ['--all'] : []), ...(destCreds === undefined ? [] : [`--dest-creds=${destCreds}`]), `oci:${layoutDir}:${tag}`, `docker://${dest}`];
  return new Promise((resolve, reject) => {
    execFile('skopeo', args, { maxBuffer: 1 << 24 }, (err, _out, stderr) => (err === null ? resolve() : reject(new Error(`skopeo ${args.join(' ')}: ${stderr}`))));
  });
}

/** Where docker-registry keeps a blob's data in its filesystem storage. */
export function registryBlobPath(storage: string, digest: string): string {
  const hex = digest.slice(7);
  return join(storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

export interface Proxy {
  port: number;
  host: string;
  close(): Promise<void>;
}

/**
 * An HTTP proxy to `target` on 127.0.0.1. `handle` may answer a request itself (return
 * true); `onResponse` sees each upstream response and may take over writing it.
 */
export async function startProxy(
  target: number,
  hooks: {
    handle?: (req: IncomingMessage, res: ServerResponse) => boolean;
    onResponse?: (req: IncomingMessage, upstream: IncomingMessage, res: ServerResponse) => boolean;
  } = {},
): Promise<Proxy> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    if (hooks.handle?.(req, res) === true) return;
    const up = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${target}` } }, (upRes) => {
      if (hooks.onResponse?.(req, upRes, res) === true) return;
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    port,
    host: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
