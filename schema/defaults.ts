/**
 * Fill the defaults docker compose fills after merge (compose-go transform.SetDefaultValues and
 * the defaults of its Normalize): a build context of `.` and a `Dockerfile`, a secret mounted at
 * `/run/secrets/<source>`, ports with `protocol: tcp` and `mode: ingress`, bind mounts with
 * `create_host_path: true`. Runs the canonical rules first (they are idempotent), so a tree that
 * reached here by any road (extends from another file, include) is in long form.
 */
import { canonicalRules } from './canonical/index.js';
import { orderKeys } from './canonical/order.js';
import type { ComposeTree, PhaseContext } from './phase.js';
import type { Rule } from './walk.js';
import { isMapping, rewrite } from './walk.js';

const BUILD_KEYS = ['context', 'dockerfile', 'dockerfile_inline'];

const defaultBuild: Rule = (value) => {
  if (!isMapping(value)) return value;
  const b: Record<string, unknown> = { ...value };
  if (b.context === undefined) b.context = '.';
  if (b.dockerfile === undefined && b.dockerfile_inline === undefined) b.dockerfile = 'Dockerfile';
  return orderKeys(b, BUILD_KEYS);
};

const defaultSecretTarget: Rule = (value) => {
  if (!isMapping(value) || value.target !== undefined || typeof value.source !== 'string') return value;
  return orderKeys({ ...value, target: `/run/secrets/${value.source}` }, ['source', 'target']);
};

const defaultRules: ReadonlyMap<string, Rule> = new Map([
  ['services.*.build', defaultBuild],
  ['services.*.secrets[]', defaultSecretTarget],
]);

export function applyDefaults(tree: ComposeTree, ctx: PhaseContext): ComposeTree {
  return rewrite(rewrite(tree, canonicalRules, ctx.positions), defaultRules, ctx.positions);
}
