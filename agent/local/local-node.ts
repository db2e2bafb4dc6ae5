/**
 * The agent of this host put together: the bundled runtime (or another OCI runtime named by
 * TSC_COMPOSE_RUNTIME), the image store, the host network manager, local volumes, all under
 * the agent's state and run directories, served on its unix socket.
 */
import { join } from 'node:path';

import { serveAgent, type AgentServer } from '../api/http-server.js';
import { cleanupBuilds } from '../build/build-cleanup.js';
import { openImageStore } from '../images/index.js';
import { createNodeAgent, type NodeAgent } from '../node-agent.js';
import type { AgentPaths } from '../paths.js';
import { bundledRuntimePath } from '../runtime/bundled-runtime-path.js';
import { createVolumeStore } from '../volumes.js';
import { createLocalBundleBuilder } from './bundle-builder.js';
import { createLocalImageBuilder } from './image-builder.js';
import { createContainerFiles } from './container-files.js';
import { removeEmptyCgroupParent } from './cgroup-parent.js';
import { createLocalContainerHost } from './container-host.js';
import { createLocalImageService } from './image-service.js';
import { createLocalNetworkService } from './network-service.js';
import { createRuntimeAdapter } from './runtime-adapter.js';

export interface LocalNodeOptions {
  paths: AgentPaths;
  /** An OCI runtime binary; default: the bundled tsc-runtime. */
  runtime?: string | undefined;
  version: string;
  /** nftables table of ours (tests use their own). */
  nftTable?: string | undefined;
  /** Port of the embedded DNS on each bridge gateway (53 by default). */
  dnsPort?: number | undefined;
  /** Parent cgroup of the containers. */
  cgroupParent?: string | undefined;
}

export interface LocalNode {
  agent: NodeAgent;
  server: AgentServer;
  /** Stop serving; containers keep running under their monitors. */
  close(): Promise<void>;
}

export async function startLocalNode(opts: LocalNodeOptions): Promise<LocalNode> {
  const { stateDir, runDir } = opts.paths;
  const volumes = createVolumeStore(join(stateDir, 'volumes'));
  const store = await openImageStore(join(stateDir, 'images'));
  const networks = await createLocalNetworkService({
    stateFile: join(stateDir, 'network', 'state.json'),
    ...(opts.nftTable === undefined ? {} : { table: opts.nftTable, resolverTable: `${opts.nftTable}_dns` }),
    ...(opts.dnsPort === undefined ? {} : { dnsPort: opts.dnsPort }),
  });
  const runtimeBinary = opts.runtime ?? bundledRuntimePath();
  const cgroupParent = opts.cgroupParent ?? '/tsc-compose';
  const agent = createNodeAgent({
    stateDir,
    runtime: createRuntimeAdapter({ binary: runtimeBinary, root: join(runDir, 'runtime') }),
    builder: createLocalImageBuilder({ store, runtime: runtimeBinary, runtimeRoot: join(runDir, 'build') }),
    images: createLocalImageService({ store }),
    networks,
    bundles: createLocalBundleBuilder({ volumes, cgroupParent, seccompDir: join(stateDir, 'seccomp') }),
    onIdle: async () => {
      await removeEmptyCgroupParent(cgroupParent);
    },
    volumes,
    files: createContainerFiles(),
    host: createLocalContainerHost(),
    version: opts.version,
  });
  await agent.recover();
  // A build cut short by a crash left its step container and mounts: nothing builds yet.
  await cleanupBuilds({ store, runtime: runtimeBinary, runtimeRoot: join(runDir, 'build') });
  const server = await serveAgent(agent.api, opts.paths.socket);
  return {
    agent,
    server,
    async close() {
      await server.close();
      await agent.close();
      await networks.close();
    },
  };
}
