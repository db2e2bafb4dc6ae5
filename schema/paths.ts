/**
 * Resolve relative paths (bind sources, build contexts, env_file, secrets and configs files) against the working directory.
 *
 * Placeholder until the loader-model work lands: returns the tree as it is.
 */
import type { ComposeTree, PhaseContext } from './phase.js';

export function resolvePaths(tree: ComposeTree, _ctx: PhaseContext): ComposeTree {
  return tree;
}
