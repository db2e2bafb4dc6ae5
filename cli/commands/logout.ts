/** `logout [SERVER]`: forget a registry's credentials (config.json `auths` and its helper). */
import type { Writable } from 'node:stream';

import type { Command } from 'commander';

import { eraseCredentials, serverKey } from '../../agent/images/registry/credentials.js';

export async function logoutCommand(server: string | undefined, stdout: Writable): Promise<number> {
  const key = serverKey(server);
  if (await eraseCredentials(key)) stdout.write(`Removing login credentials for ${key}\n`);
  else stdout.write(`Not logged in to ${key}\n`);
  return 0;
}

export function registerLogout(program: Command, setExit: (code: number) => void): void {
  program
    .command('logout')
    .description('Log out from a registry (default Docker Hub)')
    .argument('[server]')
    .action(async (server: string | undefined) => setExit(await logoutCommand(server, process.stdout)));
}
