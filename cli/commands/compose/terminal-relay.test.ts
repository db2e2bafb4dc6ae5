import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';

import { describe, expect, it } from 'vitest';

import type { ExecSession } from '../../../agent/api/types.js';
import { parseDetachKeys } from './detach-keys.js';
import { relayTerminal, type SignalSource } from './terminal-relay.js';

function fakeTerminal() {
  const modes: Array<boolean | string> = [];
  const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (raw: boolean) => modes.push(raw) });
  let shown = '';
  const stdout = Object.assign(new PassThrough(), { isTTY: true, rows: 24, columns: 80 });
  stdout.on('data', (d: Buffer) => (shown += d.toString()));
  const signals = new EventEmitter();
  return { modes, stdin, stdout, signals, shown: () => shown };
}

function fakeSession() {
  const typed: Buffer[] = [];
  const sizes: string[] = [];
  let closed = false;
  let finish!: { resolve: (n: number) => void; reject: (e: Error) => void };
  const stdin = new PassThrough();
  stdin.on('data', (d: Buffer) => typed.push(d));
  const session: ExecSession = {
    stdin,
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    exit: new Promise<number>((resolve, reject) => (finish = { resolve, reject })),
    resize: (r, c) => sizes.push(`${r}x${c}`),
    close: () => (closed = true),
  };
  return { session, typed: () => Buffer.concat(typed).toString(), sizes, closed: () => closed, finish: () => finish };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('relayTerminal', () => {
  it('goes raw, passes keys (Ctrl-C too), sizes and signals on, and restores the terminal at the exit', async () => {
    const t = fakeTerminal();
    const s = fakeSession();
    const forwarded: string[] = [];
    const relay = relayTerminal(s.session, { stdin: t.stdin, stdout: t.stdout, input: true, detachKeys: parseDetachKeys('ctrl-p,ctrl-q'), forwardSignal: (sig) => forwarded.push(sig), signals: t.signals as unknown as SignalSource, rawOutput: () => t.modes.push('-opost') });
    await tick();
    expect(t.modes).toEqual([true, '-opost']);
    t.stdin.write('ls\r\x03');
    t.stdout.rows = 50;
    t.stdout.emit('resize');
    t.signals.emit('SIGTERM');
    (s.session.stdout as PassThrough).write('output\r\n');
    await tick();
    expect(s.typed()).toBe('ls\r\x03');
    expect(s.sizes).toEqual(['24x80', '50x80']); // ours at the start, then each change
    expect(forwarded).toEqual(['SIGTERM']);
    (s.session.stdout as PassThrough).end('last\r\n');
    s.finish().resolve(3);
    expect(await relay).toEqual({ exitCode: 3 });
    expect(t.shown()).toBe('output\r\nlast\r\n');
    expect(t.modes).toEqual([true, '-opost', false]);
    expect(t.signals.listenerCount('SIGTERM')).toBe(0);
    expect(t.signals.listenerCount('exit')).toBe(0);
  });

  it('detaches on Ctrl-P Ctrl-Q: the session is let go, not ended, and the terminal restored', async () => {
    const t = fakeTerminal();
    const s = fakeSession();
    const relay = relayTerminal(s.session, { stdin: t.stdin, stdout: t.stdout, input: true, detachKeys: parseDetachKeys('ctrl-p,ctrl-q'), forwardSignal: () => undefined, signals: t.signals as unknown as SignalSource, rawOutput: () => t.modes.push('-opost') });
    t.stdin.write('a\x10');
    await tick();
    t.stdin.write('\x11');
    expect(await relay).toEqual({ detached: true });
    expect(s.typed()).toBe('a');
    expect(s.closed()).toBe(true);
    expect(s.session.stdin.writableEnded).toBe(false);
    expect(t.modes).toEqual([true, '-opost', false]);
  });

  it('restores the terminal when the session fails', async () => {
    const t = fakeTerminal();
    const s = fakeSession();
    const relay = relayTerminal(s.session, { stdin: t.stdin, stdout: t.stdout, input: true, detachKeys: Buffer.alloc(0), forwardSignal: () => undefined, signals: t.signals as unknown as SignalSource, rawOutput: () => t.modes.push('-opost') });
    s.finish().reject(new Error('agent gone'));
    await expect(relay).rejects.toThrow('agent gone');
    expect(t.modes).toEqual([true, '-opost', false]);
  });

  it('leaves the terminal alone without input (--no-stdin)', async () => {
    const t = fakeTerminal();
    const s = fakeSession();
    const relay = relayTerminal(s.session, { stdin: t.stdin, stdout: t.stdout, input: false, detachKeys: Buffer.alloc(0), forwardSignal: () => undefined, signals: t.signals as unknown as SignalSource, rawOutput: () => t.modes.push('-opost') });
    t.stdin.write('typed');
    (s.session.stdout as PassThrough).end();
    s.finish().resolve(0);
    expect(await relay).toEqual({ exitCode: 0 });
    expect(t.modes).toEqual([]);
    expect(s.typed()).toBe('');
  });
});
