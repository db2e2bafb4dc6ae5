import { type Command, type InteractionEnv, idArgs } from '../interaction-env.js';

/** tick-heartbeat ID: one heartbeat interval of ticks. */
export function tickHeartbeat(env: InteractionEnv, cmd: Command): void {
  for (const id of idArgs(cmd)) for (let i = 0; i < env.core(id).raft.heartbeatTimeout; i++) env.core(id).tick();
  env.print('ok');
}

/** tick-election ID: ticks until the (pinned) randomized election timeout has passed. */
export function tickElection(env: InteractionEnv, cmd: Command): void {
  for (const id of idArgs(cmd)) {
    const r = env.core(id).raft;
    const need = Math.max(r.randomizedElectionTimeout - r.electionElapsed, 1);
    for (let i = 0; i < need; i++) env.core(id).tick();
  }
  env.print('ok');
}
