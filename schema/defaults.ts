/**
 * Fill the defaults docker compose fills after merge.
 *
 * Placeholder until the loader-model work lands: returns the tree as it is.
 */
import type { ComposeTree, PhaseContext } from './phase.js';

export function applyDefaults(tree: ComposeTree, _ctx: PhaseContext): ComposeTree {
  return tree;
}
