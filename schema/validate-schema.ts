/**
 * Validate one file's interpolated tree against the Compose JSON Schema; throws TscError at the offending key.
 *
 * Placeholder until the loader-model work lands: returns the tree as it is.
 */
import type { ComposeTree, PhaseContext } from './phase.js';

export function validateSchema(tree: ComposeTree, _ctx: PhaseContext): ComposeTree {
  return tree;
}
