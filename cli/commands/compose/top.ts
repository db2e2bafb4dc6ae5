/** `top`: the processes of each running container of the project, as docker compose prints them. */
import type { Command } from 'commander';

import type { ComposeContext } from '../../compose-context.js';
import { table } from '../../format/ps.js';
import { projectContainers } from './select.js';

export async function topCommand(ctx: ComposeContext, services: string[]): Promise<number> {
  const agent = await ctx.agent();
  const containers = (await projectContainers(agent, await ctx.projectName(), { services })).filter((c) => c.state === 'running');
  for (const c of containers) {
    const top = await agent.topContainer(c.id);
    ctx.stdout.write(`${c.name}\n${table(top.titles, top.processes)}\n`);
  }
  return 0;
}

export function registerTop(program: Command, ctx: (cmd: Command) => ComposeContext, setExit: (code: number) => void): void {
  program
    .command('top')
    .description('Display the running processes')
    .argument('[services...]')
    .action(async (services: string[], _flags: unknown, cmd: Command) => setExit(await topCommand(ctx(cmd), services)));
}
