/**
 * `start`, `stop`, `restart`, `kill`, `pause`, `unpause`, `rm`, `wait`, `port`: commands that
 * act on a project's existing containers, found by their labels.
 */
import type { Command } from 'commander';

import type { AgentApi, ContainerSummary } from '../../../agent/api/types.js';
import { TscError } from '../../../lib/errors.js';
import { resource } from '../../../lib/progress.js';
import { LABEL } from '../../../reconciler/labels.js';
import type { ComposeContext } from '../../compose-context.js';
import { projectContainers, serviceContainer } from './select.js';

type Action = (agent: AgentApi, c: ContainerSummary) => Promise<void>;

async function each(ctx: ComposeContext, services: string[], all: boolean, verb: [string, string], act: Action, when: (c: ContainerSummary) => boolean = () => true): Promise<number> {
  const name = await ctx.projectName();
  const agent = await ctx.agent();
  const reporter = ctx.reporter();
  try {
    const list = (await projectContainers(agent, name, { services, all })).filter(when);
    await Promise.all(
      list.map(async (c) => {
        const id = resource.container(c.name);
        reporter.emit({ id, status: verb[0], state: 'working' });
        try {
          await act(agent, c);
        } catch (e) {
          reporter.emit({ id, status: 'Error', state: 'error', text: e instanceof Error ? e.message : String(e) });
          throw e;
        }
        reporter.emit({ id, status: verb[1], state: 'done' });
      }),
    );
  } finally {
    await reporter.close();
  }
  return 0;
}

const timeoutOf = (t: string | undefined) => (t === undefined ? {} : { timeoutMs: Number(t) * 1000 });
const isUp = (c: ContainerSummary) => c.state === 'running' || c.state === 'paused' || c.state === 'restarting';

export function registerLifecycle(program: Command, ctx: (cmd: Command) => ComposeContext, setExit: (code: number) => void): void {
  program
    .command('start')
    .description('Start services')
    .argument('[services...]')
    .action(async (services: string[], _f: object, cmd: Command) =>
      setExit(await each(ctx(cmd), services, true, ['Starting', 'Started'], (a, c) => a.startContainer(c.id), (c) => !isUp(c))),
    );
  program
    .command('stop')
    .description('Stop services')
    .argument('[services...]')
    .option('-t, --timeout <seconds>', 'Specify a shutdown timeout in seconds')
    .action(async (services: string[], f: { timeout?: string }, cmd: Command) =>
      setExit(await each(ctx(cmd), services, false, ['Stopping', 'Stopped'], (a, c) => a.stopContainer(c.id, timeoutOf(f.timeout)))),
    );
  program
    .command('restart')
    .description('Restart service containers')
    .argument('[services...]')
    .option('-t, --timeout <seconds>', 'Specify a shutdown timeout in seconds')
    .action(async (services: string[], f: { timeout?: string }, cmd: Command) =>
      setExit(await each(ctx(cmd), services, true, ['Restarting', 'Started'], (a, c) => a.restartContainer(c.id, timeoutOf(f.timeout)))),
    );
  program
    .command('kill')
    .description('Force stop service containers')
    .argument('[services...]')
    .option('-s, --signal <signal>', 'SIGNAL to send to the container', 'SIGKILL')
    .option('--remove-orphans', 'Remove containers for services not defined in the Compose file')
    .action(async (services: string[], f: { signal: string }, cmd: Command) =>
      setExit(await each(ctx(cmd), services, false, ['Killing', 'Killed'], (a, c) => a.killContainer(c.id, f.signal))),
    );
  program
    .command('pause')
    .description('Pause services')
    .argument('[services...]')
    .action(async (services: string[], _f: object, cmd: Command) =>
      setExit(await each(ctx(cmd), services, false, ['Pausing', 'Paused'], (a, c) => a.pauseContainer(c.id), (c) => c.state === 'running')),
    );
  program
    .command('unpause')
    .description('Unpause services')
    .argument('[services...]')
    .action(async (services: string[], _f: object, cmd: Command) =>
      setExit(await each(ctx(cmd), services, false, ['Unpausing', 'Unpaused'], (a, c) => a.unpauseContainer(c.id), (c) => c.state === 'paused')),
    );
  program
    .command('rm')
    .description('Removes stopped service containers')
    .argument('[services...]')
    .option('-f, --force', "Don't ask to confirm removal")
    .option('-s, --stop', 'Stop the containers, if required, before removing')
    .option('-v, --volumes', 'Remove any anonymous volumes attached to containers')
    .action(async (services: string[], f: { stop?: boolean; volumes?: boolean }, cmd: Command) => {
      const c = ctx(cmd);
      if (f.stop === true) await each(c, services, false, ['Stopping', 'Stopped'], (a, x) => a.stopContainer(x.id));
      const name = await c.projectName();
      const agent = await c.agent();
      const stopped = (await projectContainers(agent, name, { services, all: true })).filter((x) => !isUp(x));
      if (stopped.length === 0) {
        c.stdout.write('No stopped containers\n');
        return setExit(0);
      }
      setExit(await each(c, services, true, ['Removing', 'Removed'], (a, x) => a.removeContainer(x.id, { volumes: f.volumes === true }), (x) => !isUp(x)));
    });
  program
    .command('wait')
    .description('Block until containers of all (or specified) services stop.')
    .argument('<services...>')
    .option('--down-project', 'Drops project when the first container stops')
    .action(async (services: string[], _f: object, cmd: Command) => {
      const c = ctx(cmd);
      const agent = await c.agent();
      const list = await projectContainers(agent, await c.projectName(), { services, all: true });
      let code = 0;
      for (const x of list) {
        const r = await agent.waitContainer(x.id, 'not-running');
        c.stdout.write(`${r.exitCode}\n`);
        if (code === 0) code = r.exitCode;
      }
      setExit(code);
    });
  program
    .command('port')
    .description('Print the public port for a port binding')
    .argument('<service>')
    .argument('<private_port>')
    .option('--protocol <proto>', 'tcp or udp', 'tcp')
    .option('--index <index>', 'Index of the container if service has multiple replicas', '1')
    .action(async (service: string, privatePort: string, f: { protocol: string; index: string }, cmd: Command) => {
      const c = ctx(cmd);
      const agent = await c.agent();
      const x = await serviceContainer(agent, await c.projectName(), service, Number(f.index));
      const p = x.ports.find((pt) => String(pt.target) === privatePort && pt.protocol === f.protocol);
      if (p === undefined) throw new TscError('ERR_NOT_FOUND', `no port ${privatePort}/${f.protocol} for container ${x.name}: ${x.labels[LABEL.service] ?? ''} publishes none`);
      c.stdout.write(`${p.hostIp === '' ? '0.0.0.0' : p.hostIp}:${p.hostPort}\n`);
      setExit(0);
    });
}
