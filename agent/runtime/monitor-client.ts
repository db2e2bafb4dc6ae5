/**
 * Talking to tsc-runtime's monitor directly over `<root>/<id>/ctl.sock` (bundled runtime only):
 * feed the container's stdin or attach to its terminal, and wait for its exit without polling.
 */
import { closeSync, openSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { PassThrough, Writable, type Readable } from 'node:stream';
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

/** A terminal the monitor keeps, attached both ways. */
export interface TerminalAttachment {
  /** Into the terminal (when the container keeps stdin open; otherwise bytes are dropped). Ending it sends end of input (^D). */
  input: Writable;
  /** What the terminal shows, until the container exits (then it ends). */
  output: Readable;
  /** Let go without ending the input (detach): the container keeps running. */
  close(): void;
}

/**
 * Attach to the terminal of a container whose monitor keeps it (process.terminal without a
 * console socket): its output from now on (`fromStart`: also what it showed before the first
 * client attached, for a caller that attaches right after start), and its input when the
 * bundle sets `io.tsc-compose.stdin: "true"`. One client at a time.
 */
export async function attachTerminal(addr: MonitorAddress, opts: { fromStart?: boolean } = {}): Promise<TerminalAttachment> {
  const sock = await open(addr, opts.fromStart === true ? 'attach start\n' : 'attach\n');
  const output = new PassThrough();
  await new Promise<void>((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const nl = head.indexOf(10);
      if (nl < 0) return;
      sock.off('data', onData);
      sock.off('close', onClose);
      const answer = head.subarray(0, nl).toString();
      if (answer !== 'ok') {
        sock.destroy();
        reject(new TscError('ERR_RUNTIME', `attach to ${addr.id}: ${answer.replace(/^error /, '')}`));
        return;
      }
      if (head.length > nl + 1) output.write(head.subarray(nl + 1));
      sock.pipe(output);
      resolve();
    };
    const onClose = () => reject(new TscError('ERR_NOT_FOUND', `attach to ${addr.id}: the monitor closed without an answer (the container has exited)`));
    sock.on('data', onData);
    sock.once('close', onClose);
    sock.on('error', () => undefined);
  });
  const input = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (sock.destroyed) cb();
      else sock.write(chunk, () => cb());
    },
    final(cb) {
      if (!sock.destroyed) sock.end();
      cb();
    },
  });
  input.on('error', () => undefined);
  return {
    input,
    output,
    close: () => {
      sock.destroy();
      output.end();
    },
  };
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
