/**
 * The one place overlay/ starts programs (ip, nft, nsenter, sysctl). Commands that must run
 * in a container's network namespace go through `nsenter --net=PATH`, which accepts both
 * /run/netns/NAME and /proc/PID/ns/net.
 */
import { spawn } from 'node:child_process';

import { TscError } from '../lib/errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Run a command, feeding `input` on stdin; a non-zero exit becomes ERR_NETWORK. */
export function runCommand(argv: readonly string[], opts: { input?: string; netns?: string | undefined } = {}): Promise<RunResult> {
  const full = opts.netns === undefined ? [...argv] : ['nsenter', `--net=${opts.netns}`, '--', ...argv];
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = full;
    if (cmd === undefined) throw new Error('runCommand: empty argv');
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new TscError('ERR_NETWORK', `cannot run ${cmd}: ${e.message}`, { cause: e })));
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      if (code === 0) resolve({ stdout, stderr });
      else {
        const where = opts.netns === undefined ? '' : ` in ${opts.netns}`;
        reject(new TscError('ERR_NETWORK', `${argv.slice(0, 3).join(' ')}${where} failed (exit ${code}): ${stderr.trim()}`));
      }
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
