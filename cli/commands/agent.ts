/**
 * `tsc-compose agent`: run this host's agent in the foreground (for systemd, or started in the
 * background by the CLI on first use). SIGTERM/SIGINT stop serving; containers keep running.
 */
import type { Command } from 'commander';

import { agentPaths } from '../../agent/paths.js';
import { packageVersion } from './version.js';

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('Run the node agent in the foreground')
    .option('--runtime <path>', 'OCI runtime binary (default: the bundled tsc-runtime)', process.env['TSC_COMPOSE_RUNTIME'])
    .action(async (flags: { runtime?: string }) => {
      // TSC_COMPOSE_NFT_TABLE and TSC_COMPOSE_CGROUP_PARENT let tests run an agent beside another one without sharing rules or cgroups.
      // loaded here: the whole node (images, networking, builder, runtime) would cost every
      // other command ~35 ms of module loading
      const { startLocalNode } = await import('../../agent/local/local-node.js');
      const node = await startLocalNode({ paths: agentPaths(), runtime: flags.runtime, version: packageVersion(), nftTable: process.env['TSC_COMPOSE_NFT_TABLE'], cgroupParent: process.env['TSC_COMPOSE_CGROUP_PARENT'] });
      process.stderr.write(`tsc-compose agent ${packageVersion()} listening on ${node.server.socketPath}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      await node.close();
    });
}
