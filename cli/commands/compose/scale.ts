/**
 * `scale SERVICE=N...`: set how many containers of each service run, as `docker compose scale`
 * does: `up -d` of those services with the new counts, existing containers kept as they are.
 */
import type { Command } from 'commander';

import { TscError } from '../../../lib/errors.js';
import type { ComposeContext } from '../../compose-context.js';
import { parseScale, upCommand } from './up.js';

export async function scaleCommand(ctx: ComposeContext, pairs: string[], flags: { deps?: boolean }): Promise<number> {
  if (pairs.length === 0) throw new TscError('ERR_USAGE', 'scale requires at least one SERVICE=REPLICAS argument');
  const counts = parseScale(pairs);
  const loaded = await ctx.load(Object.keys(counts));
  for (const name of Object.keys(counts)) {
    if (loaded.project.services[name] === undefined) throw new TscError('ERR_NOT_FOUND', `no such service: ${name}`);
  }
  return upCommand(ctx, Object.keys(counts), { detach: true, scale: pairs, recreate: false, ...(flags.deps === false ? { deps: false } : {}) });
}

export function registerScale(program: Command, ctx: (cmd: Command) => ComposeContext, setExit: (code: number) => void): void {
  program
    .command('scale')
    .description('Scale services')
    .argument('<service=replicas...>')
    .option('--no-deps', "Don't start linked services")
    .action(async (pairs: string[], flags: { deps?: boolean }, cmd: Command) => setExit(await scaleCommand(ctx(cmd), pairs, flags)));
}
