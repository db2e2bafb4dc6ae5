/**
 * The CLI's way to the local agent: connect to its socket, and when none answers start one in
 * the background (the embedded default: no set-up beyond `npm install`), then wait for it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

import { connectAgent } from '../agent/api/http-client.js';
import { socketAnswers } from '../agent/api/socket-probe.js';
import type { AgentApi } from '../agent/api/types.js';
import { agentPaths, type AgentPaths } from '../agent/paths.js';
import { TscError, isTscError } from '../lib/errors.js';

async function answers(api: AgentApi): Promise<boolean> {
  try {
    await api.info();
    return true;
  } catch (e) {
    if (isTscError(e, 'ERR_AGENT')) return false;
    throw e;
  }
}

/** The command line that runs this same program's `agent` command. */
function selfAgentCommand(): { cmd: string; args: string[] } {
  const script = process.argv[1];
  if (script === undefined) throw new TscError('ERR_AGENT', 'cannot tell which program to start the agent with');
  return { cmd: process.execPath, args: [...process.execArgv, script, 'agent'] };
}

export async function ensureAgent(paths: AgentPaths = agentPaths(), opts: { waitMs?: number } = {}): Promise<AgentApi> {
  const api = connectAgent(paths.socket);
  // An agent already running (the usual case) is found by a connect, not a request it must answer first.
  if (await socketAnswers(paths.socket)) return api;
  mkdirSync(dirname(paths.log), { recursive: true });
  const log = openSync(paths.log, 'a');
  const { cmd, args } = selfAgentCommand();
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', log, log], env: process.env });
  child.unref();
  const deadline = Date.now() + (opts.waitMs ?? 15_000);
  while (Date.now() < deadline) {
    if (await answers(api)) return api;
    // The child may have found another agent already serving (and left): ask once more.
    if (child.exitCode !== null) {
      if (await answers(api)) return api;
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new TscError('ERR_AGENT', `the agent did not start: see ${paths.log}`, { hint: 'run `tsc-compose agent` in the foreground to see why' });
}
