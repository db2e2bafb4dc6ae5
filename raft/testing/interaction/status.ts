import { type Command, type InteractionEnv, idArgs } from '../interaction-env.js';

/** status ID: role, term, commit, and on a leader the progress of each peer. */
export function status(env: InteractionEnv, cmd: Command): void {
  for (const id of idArgs(cmd)) {
    const r = env.core(id).raft;
    env.print(`${id}: ${r.state} term=${r.term} lead=${r.lead} commit=${r.raftLog.committed} applied=${r.raftLog.applied}`);
    if (r.state === 'leader') r.trk.visit((pid, pr) => env.print(`  ${pid}: ${pr.toString()}`));
  }
}
