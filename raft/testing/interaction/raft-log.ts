import { describeEntry } from '../describe.js';
import { type Command, type InteractionEnv, idArgs } from '../interaction-env.js';

/** raft-log ID: the node's durable log. */
export function raftLog(env: InteractionEnv, cmd: Command): void {
  for (const id of idArgs(cmd)) {
    const st = env.node(id).storage;
    if (st.lastIndex() < st.firstIndex()) env.print(`log is empty: first index=${st.firstIndex()}, last index=${st.lastIndex()}`);
    else for (const e of st.entries(st.firstIndex(), st.lastIndex() + 1, Infinity)) env.print(describeEntry(e));
  }
}
