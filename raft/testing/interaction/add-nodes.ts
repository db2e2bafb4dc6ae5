import { seededRand } from '../../core/rand.js';
import { type Command, type InteractionEnv, arg } from '../interaction-env.js';
import { confStateOf, newTestNode } from '../network.js';
import { MemoryStorage } from '../../storage.js';

/** add-nodes N voters=(1,2,3) [learners=(4)] [prevote=false] [checkquorum=false] */
export function addNodes(env: InteractionEnv, cmd: Command): void {
  const n = Number(cmd.args[0]);
  const list = (k: string): number[] =>
    (arg(cmd, k) ?? '()').replace(/[()]/g, '').split(',').filter((x) => x !== '').map(Number);
  const voters = list('voters');
  const learners = list('learners');
  const first = env.nodes.size + 1;
  for (let id = first; id < first + n; id++) {
    const storage = new MemoryStorage({ confState: confStateOf(voters, learners) });
    const node = newTestNode(id, [], {
      preVote: arg(cmd, 'prevote') !== 'false',
      checkQuorum: arg(cmd, 'checkquorum') !== 'false',
      // Pinned timeouts: the script, not chance, decides who campaigns.
      rand: seededRand(0),
    }, storage);
    env.nodes.set(id, node);
    env.inbox.set(id, []);
    env.print(`${id}: voters=(${voters.join(' ')})${learners.length > 0 ? ` learners=(${learners.join(' ')})` : ''}`);
  }
}
