import { type Command, type InteractionEnv, idArgs } from '../interaction-env.js';
import { deliverTo } from './deliver-msgs.js';
import { readyOf } from './process-ready.js';

/** stabilize [ID...]: handles Readies and delivers messages until nothing moves. */
export function stabilize(env: InteractionEnv, cmd: Command): void {
  const only = idArgs(cmd);
  const ids = only.length > 0 ? only : env.ids();
  for (let round = 0; round < 1000; round++) {
    let moved = false;
    for (const id of ids) moved = readyOf(env, id) || moved;
    for (const id of ids) {
      if ((env.inbox.get(id) ?? []).length > 0) {
        env.print(`> ${id} receiving messages`);
        deliverTo(env, id);
        moved = true;
      }
    }
    if (!moved) return;
  }
  throw new Error('stabilize: still moving after 1000 rounds');
}
