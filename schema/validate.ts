/**
 * Cross-field rules after merge and profiles: references, uniqueness, depends_on cycles.
 *
 * Placeholder until the loader-model work lands: returns the tree as it is.
 */
import type { ComposeTree, PhaseContext } from './phase.js';

export function validateProject(tree: ComposeTree, _ctx: PhaseContext): ComposeTree {
  return tree;
}
