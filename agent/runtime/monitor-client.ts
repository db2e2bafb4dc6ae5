/**
 * Talking to tsc-runtime's monitor directly over `<root>/<id>/ctl.sock` (bundled runtime only):
 * feed the container's stdin, and wait for its exit without polling.
 */
import { closeSync, openSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';

import { TscError } from '../../lib/errors.js';

export interface MonitorAddress {
  /** The runtime's --root. */
  root: string;
  id: string;
}

/** Unix socket paths stop at 107 bytes; a deeper state dir is reached through /proc/self/fd. */
const SUN_PATH_MAX = 107;

function open(addr: MonitorAddress, request: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const dir = join(addr.root, addr.id);
    let dirfd: number | undefined;
    let path = join(dir, 'ctl.sock');
    if (Buffer.byteLength(path) > SUN_PATH_MAX) {
      try {
        dirfd = openSync(dir, 'r');
      } catch (cause) {
        reject(new TscError('ERR_NOT_FOUND', `container ${addr.id} has no state in ${addr.root}`, { cause }));
        return;
      }
      path = `/proc/self/fd/${dirfd}/ctl.sock`;
    }
    const sock = connect(path);
    const release = () => {
      if (dirfd !== undefined) closeSync(dirfd);
      dirfd = undefined;
    };
    sock.once('connect', release);
    sock.once('error', release);
    sock.once('error', (cause) =>
      reject(new TscError('ERR_NOT_FOUND', `container ${addr.id} has no running monitor in ${addr.root}`, { cause })),
    );
    sock.once('connect', () => {
      sock.write(request);
      resolve(sock);
    });
  });
}

/**
 * A writable stream into the container's stdin (the bundle must set the annotation
 * `io.tsc-compose.stdin: "true"` and a log path). Ending it closes the container's stdin.
 */
export async function attachStdin(addr: MonitorAddress): Promise<Socket> {
  const sock = await open(addr, 'stdin\n');
  sock.on('data', (d: Buffer) => {
    sock.destroy(new TscError('ERR_RUNTIME', `attach to ${addr.id}: ${d.toString().trim().replace(/^error /, '')}`));
  });
  return sock;
}

export interface ExitStatus {
  exitCode: number;
  oomKilled: boolean;
}

/** Resolves when the container exits (at once if it has; then from state instead). */
export async function waitExit(addr: MonitorAddress): Promise<ExitStatus> {
  const sock = await open(addr, 'wait\n');
  return new Promise((resolve, reject) => {
    let text = '';
    sock.on('data', (d: Buffer) => (text += d.toString()));
    sock.on('error', reject);
    sock.on('close', () => {
      const m = /^exit (\d+)( oom)?/.exec(text);
      if (m) resolve({ exitCode: Number(m[1]), oomKilled: m[2] !== undefined });
      else reject(new TscError('ERR_RUNTIME', `wait for ${addr.id}: the monitor answered "${text.trim()}"`));
    });
  });
}

/** Sets the size of a terminal the monitor keeps (process.terminal without a console socket). */
export async function resizeTerminal(addr: MonitorAddress, rows: number, cols: number): Promise<void> {
  const sock = await open(addr, `resize ${rows} ${cols}\n`);
  const answer = await new Promise<string>((resolve, reject) => {
    let text = '';
    sock.on('data', (d: Buffer) => (text += d.toString()));
    sock.on('error', reject);
    sock.on('close', () => resolve(text.trim()));
  });
  if (answer !== 'ok') throw new TscError('ERR_RUNTIME', `resize the terminal of ${addr.id}: ${answer.replace(/^error /, '')}`);
}
