import type { Message } from '../../core/types.js';
import { describeMessage } from '../describe.js';
import { type Command, type InteractionEnv, arg, idArgs } from '../interaction-env.js';

/** deliver-msgs [ID...] [drop=true]: steps (or drops) the messages waiting for the nodes. */
export function deliverMsgs(env: InteractionEnv, cmd: Command): void {
  const ids = idArgs(cmd);
  const drop = arg(cmd, 'drop') === 'true';
  for (const id of ids.length > 0 ? ids : env.ids()) deliverTo(env, id, drop);
}

export function deliverTo(env: InteractionEnv, id: number, drop = false): number {
  const msgs: Message[] = env.inbox.get(id) ?? [];
  env.inbox.set(id, []);
  for (const m of msgs) {
    if (drop) {
      env.print(`dropped: ${describeMessage(m)}`);
      continue;
    }
    env.print(describeMessage(m));
    env.core(id).step(m);
  }
  return msgs.length;
}
