/**
 * The stage graph of a multi-stage Dockerfile, as BuildKit's dockerfile2llb builds it:
 * - `FROM x` is a stage when an EARLIER stage is named x (case-insensitive); otherwise an image
 *   (`scratch` is the empty image).
 * - `COPY --from=x` / `ADD`-less: a stage of that name anywhere in the file, a stage index
 *   (`--from=0`, out of range is an error), or else an image.
 * - `--target` (default: the last stage) selects the stages to build: the target and what it
 *   needs, nothing else. A cycle through `COPY --from` is an error.
 * FROM image names are expanded with the global ARG scope, as is `--from` (so that the graph is
 * known before any stage runs).
 */
import { TscError } from '../../lib/errors.js';
import type { ArgInstruction, Dockerfile, FromInstruction, Instruction } from './dockerfile-parse.js';
import { expandFrom, metaArgScope } from './expand-stage.js';
import type { ArgScope, BuildArgsContext } from './expand-stage.js';
import { processWord } from './shell-words.js';

export type StageBase = { kind: 'stage'; index: number } | { kind: 'image'; ref: string } | { kind: 'scratch' };

export interface Stage {
  index: number;
  /** `AS name`, lowercased. */
  name?: string;
  /** The FROM line, image and platform expanded. */
  from: FromInstruction;
  base: StageBase;
  /** The instructions after FROM, unexpanded (see expandStage). */
  instructions: Instruction[];
  /** Stages this one needs (its base, then COPY --from), by index, without repeats. */
  dependsOn: number[];
  /** Images named by COPY --from that are not stages. */
  copyFromImages: string[];
}

export interface StageGraph {
  metaArgs: ArgInstruction[];
  meta: ArgScope;
  stages: Stage[];
  warnings: { line: number; message: string }[];
}

function fail(ctx: BuildArgsContext, line: number, message: string, hint?: string): never {
  throw new TscError('ERR_DOCKERFILE', message, { file: ctx.file ?? 'Dockerfile', line, hint });
}

/** Split the instructions into stages and resolve what each one depends on. */
export function buildStageGraph(df: Dockerfile, ctx: BuildArgsContext): StageGraph {
  const firstFrom = df.instructions.findIndex((i) => i.kind === 'FROM');
  if (firstFrom < 0) fail(ctx, df.instructions[0]?.line ?? 1, 'no build stage in current context', 'add a FROM line');
  const metaArgs = df.instructions.slice(0, firstFrom) as ArgInstruction[];
  const c = { ...ctx, escape: ctx.escape ?? df.escape };
  const meta = metaArgScope(metaArgs, c);
  const stages: Stage[] = [];
  const byName = new Map<string, number>();
  const warnings: StageGraph['warnings'] = [];
  for (const instr of df.instructions.slice(firstFrom)) {
    if (instr.kind !== 'FROM') {
      stages[stages.length - 1]?.instructions.push(instr);
      continue;
    }
    const from = expandFrom(instr, meta, c);
    const index = stages.length;
    const earlier = byName.get(from.image.toLowerCase());
    const base: StageBase =
      earlier !== undefined
        ? { kind: 'stage', index: earlier }
        : from.image.toLowerCase() === 'scratch'
          ? { kind: 'scratch' }
          : { kind: 'image', ref: from.image };
    const stage: Stage = { index, from, base, instructions: [], dependsOn: [], copyFromImages: [] };
    if (from.name !== undefined) {
      stage.name = from.name;
      if (byName.has(from.name)) warnings.push({ line: from.line, message: `Duplicate stage name "${from.name}", stage names should be unique` });
      byName.set(from.name, index);
    }
    if (base.kind === 'stage') stage.dependsOn.push(base.index);
    stages.push(stage);
  }
  const lookup = (n: string): string | undefined => meta.get(n);
  for (const stage of stages) {
    for (const instr of stage.instructions) {
      if ((instr.kind !== 'COPY' && instr.kind !== 'ADD') || instr.from === undefined) continue;
      let from: string;
      try {
        from = processWord(instr.from, lookup, { escape: c.escape });
      } catch (e) {
        return fail(c, instr.line, `${instr.kind}: ${(e as Error).message}`);
      }
      let dep: number | undefined;
      if (/^[+-]?\d+$/.test(from)) {
        const n = Number(from);
        if (n < 0 || n >= stages.length) fail(c, instr.line, `${instr.kind}: invalid stage index ${n}`, `the Dockerfile has ${stages.length} stage(s), numbered from 0`);
        dep = n;
      } else {
        dep = byName.get(from.toLowerCase());
      }
      if (dep === undefined) {
        if (!stage.copyFromImages.includes(from)) stage.copyFromImages.push(from);
      } else if (!stage.dependsOn.includes(dep)) {
        stage.dependsOn.push(dep);
      }
    }
  }
  checkCycles(stages, c);
  return { metaArgs, meta, stages, warnings };
}

function stageLabel(s: Stage): string {
  return s.name ?? String(s.index);
}

function checkCycles(stages: Stage[], ctx: BuildArgsContext): void {
  const state = new Map<number, 'visiting' | 'done'>();
  const path: number[] = [];
  const visit = (i: number): void => {
    const st = state.get(i);
    if (st === 'done') return;
    const stage = stages[i];
    if (stage === undefined) throw new Error(`stage ${i} out of range (${stages.length} stages)`);
    if (st === 'visiting') {
      const loop = [...path.slice(path.indexOf(i)), i].map((k) => stageLabel(stages[k] as Stage));
      fail(ctx, stage.from.line, `circular dependency detected on stage: ${stageLabel(stage)} (${loop.join(' -> ')})`);
    }
    state.set(i, 'visiting');
    path.push(i);
    for (const d of stage.dependsOn) visit(d);
    path.pop();
    state.set(i, 'done');
  };
  for (const s of stages) visit(s.index);
}

/**
 * The stages to build for `target` (a stage name; the last stage when undefined), dependencies
 * first, each once. Stages the target does not need are left out.
 */
export function stagesForTarget(graph: StageGraph, target?: string, ctx: { file?: string } = {}): Stage[] {
  let goal: Stage | undefined;
  if (target === undefined || target === '') goal = graph.stages[graph.stages.length - 1];
  else {
    const t = target.toLowerCase();
    for (const s of graph.stages) if (s.name === t) goal = s;
    if (goal === undefined) {
      const names = graph.stages.flatMap((s) => (s.name === undefined ? [] : [s.name]));
      throw new TscError('ERR_DOCKERFILE', `target stage "${target}" could not be found`, {
        file: ctx.file ?? 'Dockerfile',
        hint: names.length === 0 ? 'the Dockerfile names no stage (FROM image AS name)' : `stages: ${names.join(', ')}`,
      });
    }
  }
  if (goal === undefined) throw new Error('stage graph without stages');
  const order: Stage[] = [];
  const seen = new Set<number>();
  const visit = (s: Stage): void => {
    if (seen.has(s.index)) return;
    seen.add(s.index);
    for (const d of s.dependsOn) visit(graph.stages[d] as Stage);
    order.push(s);
  };
  visit(goal);
  return order;
}
