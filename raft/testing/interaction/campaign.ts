import { type Command, type InteractionEnv, idArgs } from '../interaction-env.js';

/** campaign ID: the node starts an election now. */
export function campaign(env: InteractionEnv, cmd: Command): void {
  for (const id of idArgs(cmd)) {
    env.core(id).campaign();
    const r = env.core(id).raft;
    env.print(`${id} is ${r.state} at term ${r.term}`);
  }
}
