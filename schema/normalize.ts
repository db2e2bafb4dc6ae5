/**
 * Project-scoped names of networks and volumes, the implicit default network.
 *
 * Placeholder until the loader-model work lands: returns the tree as it is.
 */
import type { ComposeTree, PhaseContext } from './phase.js';

export function normalize(tree: ComposeTree, _ctx: PhaseContext): ComposeTree {
  return tree;
}
