import { describeReady } from '../describe.js';
import { type Command, type InteractionEnv, idArgs } from '../interaction-env.js';
import { handleReady } from '../network.js';

/** process-ready ID...: persists, applies and advances each node's Ready; its messages go to inboxes. */
export function processReady(env: InteractionEnv, cmd: Command): void {
  const ids = idArgs(cmd);
  for (const id of ids.length > 0 ? ids : env.ids()) readyOf(env, id);
}

export function readyOf(env: InteractionEnv, id: number): boolean {
  const n = env.node(id);
  if (!n.core.hasReady()) return false;
  // Peek at the Ready for printing, then let the shared handler do the work.
  const core = n.core;
  const realReady = core.ready.bind(core);
  let printed: string[] = [];
  core.ready = () => {
    const rd = realReady();
    printed = describeReady(rd);
    return rd;
  };
  const msgs = handleReady(n);
  core.ready = realReady;
  env.print(`> ${id} handling Ready`);
  for (const l of printed) env.print(`  ${l}`);
  for (const m of msgs) env.inbox.get(m.to)?.push(m);
  return true;
}
