/**
 * Test helper: inline YAML through the model phases, the way compose-go's loader/tests do.
 * The real parser (positions, interpolation, merge, include) belongs to the pipeline; this one
 * only parses one document with the `yaml` package, records where each key is, and runs
 * validateSchema → canonicalize → applyDefaults → normalize → resolvePaths → validateProject →
 * buildProject. `loadModel` also checks the two properties every case must keep: the result
 * loads again to itself (idempotence), and survives a JSON round trip (schema-valid, same tree).
 */
import { expect } from 'vitest';
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Node } from 'yaml';

import { isTscError } from '../../lib/errors.js';
import { canonicalize } from '../canonical/index.js';
import { applyDefaults } from '../defaults.js';
import { normalize } from '../normalize.js';
import { resolvePaths } from '../paths.js';
import type { ComposeTree, PhaseContext } from '../phase.js';
import { PositionTable } from '../positions.js';
import { buildProject, type Project } from '../project.js';
import { next } from '../tree-path.js';
import { validateProject } from '../validate.js';
import { validateSchema } from '../validate-schema.js';

export const WORKDIR = '/work/project';

export interface ModelOptions {
  projectName?: string;
  workingDir?: string;
  environment?: Record<string, string>;
  file?: string;
}

export function parseYaml(text: string, file = 'compose.yaml'): { tree: ComposeTree; positions: PositionTable } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, merge: true });
  if (doc.errors.length > 0) throw doc.errors[0];
  const positions = new PositionTable(file);
  const mark = (node: Node | null | undefined, path: string): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (key === '<<') continue;
        const p = next(path, key);
        const at = pair.key.range?.[0];
        if (at !== undefined) {
          const { line, col } = lc.linePos(at);
          positions.set(p, { file, line, col });
        }
        mark(pair.value as Node | null, p);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const p = next(path, i);
        const at = (item as Node).range?.[0];
        if (at !== undefined) {
          const { line, col } = lc.linePos(at);
          positions.set(p, { file, line, col });
        }
        mark(item as Node, p);
      });
    }
  };
  mark(doc.contents as Node | null, '');
  return { tree: (doc.toJS() ?? {}) as ComposeTree, positions };
}

function context(positions: PositionTable, opts: ModelOptions): PhaseContext {
  return {
    positions,
    workingDir: opts.workingDir ?? WORKDIR,
    projectName: opts.projectName ?? 'proj',
    environment: opts.environment ?? {},
  };
}

/** The model phases after parse, in the order load.ts runs them on one file. */
export function runModel(tree: ComposeTree, ctx: PhaseContext): ComposeTree {
  let t = validateSchema(tree, ctx);
  t = canonicalize(t, ctx);
  t = applyDefaults(t, ctx);
  t = normalize(t, ctx);
  t = resolvePaths(t, ctx);
  return validateProject(t, ctx);
}

export function loadModel(yaml: string, opts: ModelOptions = {}): { tree: ComposeTree; project: Project } {
  const { tree: parsed, positions } = parseYaml(yaml, opts.file);
  const ctx = context(positions, opts);
  const tree = runModel(parsed, ctx);
  // idempotent: the canonical result loads to itself
  expect(runModel(structuredClone(tree), ctx)).toEqual(tree);
  // JSON round trip: what `config --format json` prints loads back to the same model
  const again = JSON.parse(JSON.stringify(tree)) as ComposeTree;
  expect(runModel(again, ctx)).toEqual(tree);
  return { tree, project: buildProject(tree, ctx) };
}

/** The service `name` of the loaded tree. */
export function service(yaml: string, name: string, opts: ModelOptions = {}): Record<string, unknown> {
  const { tree } = loadModel(yaml, opts);
  return (tree.services as Record<string, Record<string, unknown>>)[name] as Record<string, unknown>;
}

/** The formatted error (`file:line:col path: message`) loading `yaml` gives. */
export function loadError(yaml: string, opts: ModelOptions = {}): string {
  const { tree, positions } = parseYaml(yaml, opts.file);
  try {
    runModel(tree, context(positions, opts));
  } catch (e) {
    if (isTscError(e)) return e.format();
    throw e;
  }
  throw new Error('expected the model phases to reject this document');
}
