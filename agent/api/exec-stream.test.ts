/** execAttach on the wire: frames, and a round trip over a real unix socket to a fake process. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { TscError } from '../../lib/errors.js';
import { FRAME, frame, frameDecoder } from './exec-stream.js';
import { connectAgent } from './http-client.js';
import { serveAgent, type AgentServer } from './http-server.js';
import { untilTrue } from '../../test/support/poll.js';
import type { AgentApi, AttachOptions, ExecSession } from './types.js';

async function readAll(s: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const c of s) out += String(c);
  return out;
}

describe('exec stream frames', () => {
  it('decodes frames split anywhere across chunks', () => {
    const bytes = Buffer.concat([frame(FRAME.stdout, 'hello'), frame(FRAME.stderr, ''), frame(FRAME.exit, '{"exitCode":3}')]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const got: Array<[number, string]> = [];
      const decode = frameDecoder((t, p) => got.push([t, p.toString()]));
      decode(bytes.subarray(0, cut));
      decode(bytes.subarray(cut));
      expect(got).toEqual([
        [1, 'hello'],
        [2, ''],
        [3, '{"exitCode":3}'],
      ]);
    }
  });
});

describe('execAttach over the socket', () => {
  let dir: string;
  let server: AgentServer;
  let detached: string[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsc-execwire-'));
    // The process: echoes its stdin upper-cased to stdout, says "bye" on stderr, exits 7.
    const api = {
      execAttach: async (id: string, opts: { cmd: string[]; tty?: boolean }): Promise<ExecSession> => {
        if (id === 'forever') return { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), exit: new Promise<number>(() => undefined) };
        if (id !== 'c1') throw new TscError('ERR_NOT_FOUND', `No such container: ${id}`);
        const stdin = new PassThrough();
        const stdout = new PassThrough();
        const stderr = new PassThrough();
        const exit = (async () => {
          const text = await readAll(stdin);
          stdout.end(`${opts.cmd.join(' ')}${opts.tty === true ? ' (tty)' : ''}: ${text.toUpperCase()}`);
          stderr.end('bye\n');
          return 7;
        })();
        return { stdin, stdout, stderr, exit };
      },
      // A terminal container: says what it was asked, then runs until detached.
      attachContainer: async (id: string, opts: AttachOptions): Promise<ExecSession> => {
        const stdout = new PassThrough();
        stdout.write(`${id} stdin=${opts.stdin} fromStart=${opts.fromStart === true}`);
        const session: ExecSession = {
          stdin: new PassThrough(),
          stdout,
          stderr: new PassThrough(),
          exit: new Promise<number>(() => undefined),
          close: () => detached.push(id),
        };
        return session;
      },
    } as unknown as AgentApi;
    server = await serveAgent(api, join(dir, 'agent.sock'));
  });
  afterEach(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('carries stdin in, both output streams out, then the exit code', async () => {
    const client = connectAgent(join(dir, 'agent.sock'));
    const s = await client.execAttach('c1', { cmd: ['cat'], tty: true, stdin: true });
    s.stdin.write('one ');
    s.stdin.end('two');
    const [out, err, code] = await Promise.all([readAll(s.stdout), readAll(s.stderr), s.exit]);
    expect(out).toBe('cat (tty): ONE TWO');
    expect(err).toBe('bye\n');
    expect(code).toBe(7);
  });

  it('passes attach options on, and a client that closes early detaches the session', async () => {
    detached = [];
    const client = connectAgent(join(dir, 'agent.sock'));
    const s = await client.attachContainer('t1', { stdin: true, fromStart: true });
    let out = '';
    s.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await untilTrue('the output', () => out.length > 0);
    expect(out).toBe('t1 stdin=true fromStart=true');
    s.close?.();
    await untilTrue('the agent side to detach', () => detached.length > 0);
    expect(detached).toEqual(['t1']);
    await expect(s.exit).rejects.toThrow(/without an exit code/);
  });

  it('gives the agent\'s error back as the TscError it threw', async () => {
    const client = connectAgent(join(dir, 'agent.sock'));
    // a refusal rejects the call itself: no session is handed out
    await expect(client.execAttach('nope', { cmd: ['true'] })).rejects.toThrow(/No such container: nope/);
  });

  it('ends an attached exec when the agent stops serving, so that neither side hangs', async () => {
    const client = connectAgent(join(dir, 'agent.sock'));
    const s = await client.execAttach('forever', { cmd: ['sleep'] });
    const ended = expect(s.exit).rejects.toThrow(/closed exec in forever without an exit code/);
    await server.close();
    await ended;
  });
});
