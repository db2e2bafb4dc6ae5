/**
 * Where the agent keeps things, as `docker` keeps its: runtime files (the socket, pid) under
 * /run/tsc-compose, state (containers, images, volumes, networks) under /var/lib/tsc-compose.
 * Both can be moved with TSC_COMPOSE_RUN_DIR / TSC_COMPOSE_STATE_DIR (tests use temp dirs).
 */
import { join } from 'node:path';

export interface AgentPaths {
  runDir: string;
  stateDir: string;
  socket: string;
  log: string;
}

export function agentPaths(env: NodeJS.ProcessEnv = process.env): AgentPaths {
  const runDir = env['TSC_COMPOSE_RUN_DIR'] ?? '/run/tsc-compose';
  const stateDir = env['TSC_COMPOSE_STATE_DIR'] ?? '/var/lib/tsc-compose';
  return {
    runDir,
    stateDir,
    socket: env['TSC_COMPOSE_SOCKET'] ?? join(runDir, 'agent.sock'),
    log: join(stateDir, 'agent.log'),
  };
}
