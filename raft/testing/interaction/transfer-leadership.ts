import { type Command, type InteractionEnv, arg } from '../interaction-env.js';

/** transfer-leadership from=1 to=2 */
export function transferLeadership(env: InteractionEnv, cmd: Command): void {
  env.core(Number(arg(cmd, 'from'))).transferLeader(Number(arg(cmd, 'to')));
}
