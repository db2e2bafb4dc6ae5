/**
 * Short syntax to long syntax, one file at a time before merge (ports, volumes, environment, ...).
 *
 * Placeholder until the loader-model work lands: returns the tree as it is.
 */
import type { ComposeTree, PhaseContext } from '../phase.js';

export function canonicalize(tree: ComposeTree, _ctx: PhaseContext): ComposeTree {
  return tree;
}
