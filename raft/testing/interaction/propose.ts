import type { ConfChangeSingle } from '../../core/types.js';
import { type Command, type InteractionEnv, arg } from '../interaction-env.js';

/** propose ID DATA */
export function propose(env: InteractionEnv, cmd: Command): void {
  const id = Number(cmd.args[0]);
  env.core(id).propose(new TextEncoder().encode(cmd.args[1] ?? ''));
}

/** propose-conf-change ID v4 l5 r2 [transition=auto|implicit|explicit] */
export function proposeConfChange(env: InteractionEnv, cmd: Command): void {
  const id = Number(cmd.args[0]);
  const changes: ConfChangeSingle[] = cmd.args
    .slice(1)
    .filter((a) => /^[vlr]\d+$/.test(a))
    .map((a) => ({
      type: a[0] === 'v' ? 'addNode' : a[0] === 'l' ? 'addLearner' : 'removeNode',
      nodeId: Number(a.slice(1)),
    }));
  const transition = (arg(cmd, 'transition') ?? 'auto') as 'auto' | 'implicit' | 'explicit';
  env.core(id).proposeConfChange({ transition, changes });
}
