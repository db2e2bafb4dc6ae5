/**
 * `login [SERVER]`: check credentials against the registry, then save them where Docker keeps
 * them (config.json `auths`, or its credential helper). Runs in the CLI process: the
 * credentials are the user's, not the agent's.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

import type { Command } from 'commander';

import { TscError } from '../../lib/errors.js';
import type { Credentials } from '../../agent/images/registry/credentials.js';
import { DOCKER_HUB_KEY, getCredentials, serverKey, storeCredentials } from '../../agent/images/registry/credentials.js';
import { verifyLogin } from '../../agent/images/registry/login.js';

export interface LoginFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
}

export interface LoginIo {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  stderr: Writable;
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Ask on the terminal; `secret` keeps the answer from being echoed. */
async function prompt(io: LoginIo, question: string, secret: boolean): Promise<string> {
  const rl = createInterface({ input: io.stdin, output: io.stdout, terminal: true });
  if (secret) {
    // readline echoes through _writeToOutput: print the question, swallow the typing.
    const r = rl as unknown as { _writeToOutput: (s: string) => void };
    r._writeToOutput = (s: string) => {
      if (s.startsWith(question)) io.stdout.write(question);
    };
  }
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    rl.close();
    if (secret) io.stdout.write('\n');
  }
}

/** The credentials to try: from flags, stdin, a prompt, or those already saved. */
async function credentialsToTry(server: string | undefined, flags: LoginFlags, io: LoginIo): Promise<{ creds: Credentials; saved: boolean }> {
  if (flags.password !== undefined && flags.passwordStdin === true) throw new TscError('ERR_USAGE', '--password and --password-stdin are mutually exclusive');
  let password = flags.password;
  if (flags.passwordStdin === true) {
    if (flags.username === undefined) throw new TscError('ERR_USAGE', 'must provide --username with --password-stdin');
    password = (await readAll(io.stdin)).replace(/\r?\n$/, '');
  } else if (password !== undefined) {
    io.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  }
  if (flags.username === undefined && password === undefined) {
    const saved = await getCredentials(server ?? DOCKER_HUB_KEY);
    if (saved !== undefined) {
      io.stdout.write('Authenticating with existing credentials...\n');
      return { creds: saved, saved: true };
    }
  }
  let username = flags.username;
  if (username === undefined || password === undefined) {
    if (io.stdin.isTTY !== true) throw new TscError('ERR_USAGE', 'Cannot perform an interactive login from a non TTY device', { hint: 'use --username with --password-stdin' });
    username ??= (await prompt(io, 'Username: ', false)).trim();
    password ??= await prompt(io, 'Password: ', true);
  }
  if (username === '') throw new TscError('ERR_USAGE', 'Error: Non-null Username Required');
  if (password === '') throw new TscError('ERR_USAGE', 'Error: Password Required');
  return { creds: { username, password }, saved: false };
}

export async function loginCommand(server: string | undefined, flags: LoginFlags, io: LoginIo): Promise<number> {
  const key = serverKey(server);
  const { creds, saved } = await credentialsToTry(server, flags, io);
  await verifyLogin(key, creds);
  if (!saved) {
    const where = await storeCredentials(key, creds);
    if (where.helper === undefined) {
      io.stderr.write(`WARNING! Your password will be stored unencrypted in ${where.file}.\nConfigure a credential helper to remove this warning.\n\n`);
    }
  }
  io.stdout.write('Login Succeeded\n');
  return 0;
}

export function registerLogin(program: Command, setExit: (code: number) => void): void {
  program
    .command('login')
    .description('Log in to a registry (default Docker Hub); credentials go to ~/.docker/config.json or its credential helper')
    .argument('[server]')
    .option('-u, --username <USERNAME>', 'Username')
    .option('-p, --password <PASSWORD>', 'Password (prefer --password-stdin)')
    .option('--password-stdin', 'Take the password from stdin')
    .action(async (server: string | undefined, flags: LoginFlags) => setExit(await loginCommand(server, flags, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr })));
}
