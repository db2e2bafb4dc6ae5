/**
 * ARG/ENV scoping and word expansion of a Dockerfile, as BuildKit's dockerfile2llb applies it
 * before dispatching each instruction:
 * - ARGs before the first FROM (meta args) are visible in FROM lines only; a stage sees one only
 *   after re-declaring it (`ARG NAME` with no default takes the global value).
 * - `--build-arg` overrides a declared ARG's default; an undeclared build arg is not visible,
 *   except the predefined proxy args, which reach RUN's environment.
 * - ENV always overrides an ARG of the same name.
 * - BUILDPLATFORM/BUILDOS/BUILDARCH/BUILDVARIANT and their TARGET* twins are declared
 *   automatically in the global scope.
 * Which instructions expand, and how (one word or split words), follows BuildKit: RUN, CMD,
 * ENTRYPOINT, SHELL, HEALTHCHECK and ONBUILD are left for the shell or the child build.
 */
import { TscError } from '../../lib/errors.js';
import type { ArgInstruction, FromInstruction, Instruction, KeyValue } from './dockerfile-parse.js';
import { processWord, processWords } from './shell-words.js';
import type { EnvLookup } from './shell-words.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface BuildArgsContext {
  /** `--build-arg` / compose `build.args`, by name. */
  buildArgs: Record<string, string>;
  buildPlatform: Platform;
  targetPlatform: Platform;
  /** The Dockerfile's escape token. */
  escape?: string;
  /** Name used in error messages. */
  file?: string;
}

export const PROXY_ARGS = [
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
] as const;

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, ...(p.variant !== undefined && p.variant !== '' ? [p.variant] : [])].join('/');
}

/** The automatic platform ARGs of the global scope. */
export function platformArgs(build: Platform, target: Platform): Map<string, string> {
  return new Map([
    ['BUILDPLATFORM', formatPlatform(build)],
    ['BUILDOS', build.os],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
    ['TARGETPLATFORM', formatPlatform(target)],
    ['TARGETOS', target.os],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
  ]);
}

/** Declared names → value (undefined: declared without a value). */
export type ArgScope = Map<string, string | undefined>;

function wrap<T>(ctx: BuildArgsContext, line: number, kind: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TscError) throw e;
    throw new TscError('ERR_DOCKERFILE', `${kind}: ${(e as Error).message}`, { file: ctx.file ?? 'Dockerfile', line, cause: e });
  }
}

const lookupIn =
  (...scopes: ReadonlyMap<string, string | undefined>[]): EnvLookup =>
  (name) => {
    for (const s of scopes) {
      const v = s.get(name);
      if (v !== undefined) return v;
    }
    return undefined;
  };

/** The global scope after the ARGs that precede the first FROM. */
export function metaArgScope(metaArgs: ArgInstruction[], ctx: BuildArgsContext): ArgScope {
  const scope: ArgScope = new Map(platformArgs(ctx.buildPlatform, ctx.targetPlatform));
  for (const instr of metaArgs) {
    wrap(ctx, instr.line, 'ARG', () => {
      for (const a of instr.args) {
        const given = ctx.buildArgs[a.name];
        const value =
          given ?? (a.default === undefined ? undefined : processWord(a.default, lookupIn(scope), { escape: ctx.escape ?? '\\' }));
        scope.set(a.name, value);
      }
    });
  }
  return scope;
}

/** A FROM line's image and platform, expanded with the global scope only. */
export function expandFrom(from: FromInstruction, meta: ArgScope, ctx: BuildArgsContext): FromInstruction {
  return wrap(ctx, from.line, 'FROM', () => {
    const opts = { escape: ctx.escape ?? '\\' };
    const image = processWord(from.image, lookupIn(meta), opts);
    if (image === '') throw new Error(`base name (${from.image}) should not be blank`);
    const out: FromInstruction = { ...from, image };
    if (from.platform !== undefined) out.platform = processWord(from.platform, lookupIn(meta), opts);
    return out;
  });
}

/** RUN gets the stage's ARG values in its environment (not persisted in the image). */
export type ExpandedInstruction = Instruction & { argEnv?: KeyValue[] };

export interface StageExpansion {
  instructions: ExpandedInstruction[];
  /** The image config Env after the stage, `KEY=value`, base image's first. */
  env: string[];
}

function parseEnvList(list: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const kv of list) {
    const eq = kv.indexOf('=');
    if (eq < 0) m.set(kv, '');
    else m.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return m;
}

/**
 * Expand a stage's instructions (those after its FROM) in order, tracking ENV and ARG as
 * BuildKit does. `baseEnv` is the base image's config Env (`KEY=value`).
 */
export function expandStage(
  instructions: Instruction[],
  opts: { meta: ArgScope; baseEnv: string[]; ctx: BuildArgsContext },
): StageExpansion {
  const { meta, ctx } = opts;
  const env = parseEnvList(opts.baseEnv);
  const args: ArgScope = new Map();
  const lookup = lookupIn(env, args);
  const lex = { escape: ctx.escape ?? '\\' };
  const word = (s: string): string => processWord(s, lookup, lex);
  const out: ExpandedInstruction[] = [];
  for (const instr of instructions) {
    out.push(
      wrap(ctx, instr.line, instr.kind, (): ExpandedInstruction => {
        switch (instr.kind) {
          case 'ENV': {
            const pairs = instr.pairs.map((p) => ({ key: word(p.key), value: word(p.value) }));
            for (const p of pairs) env.set(p.key, p.value);
            return { ...instr, pairs };
          }
          case 'LABEL':
            return { ...instr, pairs: instr.pairs.map((p) => ({ key: word(p.key), value: word(p.value) })) };
          case 'ARG': {
            const declared = instr.args.map((a) => {
              const given = ctx.buildArgs[a.name];
              let value: string | undefined;
              if (given !== undefined) value = given;
              else if (a.default !== undefined) value = word(a.default);
              else value = meta.get(a.name);
              args.set(a.name, value);
              return value === undefined ? { name: a.name } : { name: a.name, default: value };
            });
            return { ...instr, args: declared };
          }
          case 'WORKDIR':
          case 'USER':
          case 'STOPSIGNAL':
            return { ...instr, value: word(instr.value) };
          case 'EXPOSE':
            return { ...instr, values: instr.values.flatMap((v) => processWords(v, lookup, lex)) };
          case 'VOLUME':
            return {
              ...instr,
              values: instr.values.map((v) => {
                const w = word(v);
                if (w.trim() === '') throw new Error('VOLUME specified can not be an empty string');
                return w;
              }),
            };
          case 'COPY':
          case 'ADD': {
            const e: ExpandedInstruction = {
              ...instr,
              sources: instr.sources.map(word),
              dest: word(instr.dest),
              inline: instr.inline.map((s) =>
                s.expand ? { ...s, data: processWord(s.data, lookup, { ...lex, skipProcessQuotes: true }) } : s,
              ),
            };
            if (instr.from !== undefined) e.from = word(instr.from);
            if (instr.chown !== undefined) e.chown = word(instr.chown);
            if (instr.chmod !== undefined) e.chmod = word(instr.chmod);
            return e;
          }
          case 'RUN': {
            const argEnv: KeyValue[] = [];
            for (const [key, value] of args) if (value !== undefined && !env.has(key)) argEnv.push({ key, value });
            for (const key of PROXY_ARGS) {
              const value = ctx.buildArgs[key];
              if (value !== undefined && !args.has(key) && !env.has(key)) argEnv.push({ key, value });
            }
            return { ...instr, argEnv };
          }
          default:
            return instr;
        }
      }),
    );
  }
  return { instructions: out, env: [...env].map(([k, v]) => `${k}=${v}`) };
}
