/**
 * The loader: the only place that knows the order of the phases (compose-go v2's loader).
 *
 *   environment (shell over --env-file or .env) → discover files → per file and document:
 *   parse → interpolate → validateSchema → extends → canonicalize; then merge the files in
 *   order → include → profiles → resolvePaths → normalize → applyDefaults → validateProject →
 *   buildProject.
 *
 * Each phase is `(tree, ctx) → tree` and throws a located TscError; this file only strings
 * them together, reads files and collects warnings.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';

import { TscError } from '../lib/errors.js';
import { canonicalize } from './canonical/index.js';
import { applyDefaults } from './defaults.js';
import { STDIN_FILE, discoverFiles, envDirectory } from './discover.js';
import { resolveEnvironment } from './environment.js';
import { resolveExtends } from './extends.js';
import { applyInclude } from './include.js';
import { interpolate } from './interpolate.js';
import { resolveEnvFiles } from './env-files.js';
import { resolveLabelFiles } from './label-files.js';
import { applyResetTags, mergeTrees, type MergeInput } from './merge.js';
import { normalize } from './normalize.js';
import { parseDotenv } from './dotenv.js';
import { parseCompose, setKey, type ParsedDocument } from './parse.js';
import { resolvePaths } from './paths.js';
import type { ComposeTree, PhaseContext } from './phase.js';
import { PositionTable } from './positions.js';
import { applyProfiles, listProfiles } from './profiles.js';
import { buildProject, type Project } from './project.js';
import { resolveProjectName } from './project-name.js';
import { validateProject } from './validate.js';
import { validateSchema } from './validate-schema.js';

export interface LoadOptions {
  /** The directory relative paths on the command line are read from. */
  cwd: string;
  /** `-f` files, in order; `-` is standard input. */
  files?: readonly string[];
  projectDirectory?: string | undefined;
  /** `-p`. */
  projectName?: string | undefined;
  /** `--profile` values; when empty, `COMPOSE_PROFILES` applies. */
  profiles?: readonly string[];
  /** `--env-file` values. */
  envFiles?: readonly string[];
  /** The shell environment (the CLI passes process.env). */
  shell?: Readonly<Record<string, string | undefined>>;
  /** Services named on the command line. */
  services?: readonly string[];
  /** `--no-interpolate` sets this to false. */
  interpolate?: boolean;
  /** `--no-normalize` sets this to false. */
  normalize?: boolean;
  /** The content of standard input, for `-f -`. */
  stdin?: () => string;
}

export interface LoadResult {
  project: Project;
  /** The canonical tree `config` prints. */
  tree: ComposeTree;
  positions: PositionTable;
  /** Warnings docker compose prints on stderr (obsolete `version`, unset variables, ...). */
  warnings: string[];
  /** The compose files read, in merge order (absolute, or `-`). */
  files: string[];
  /** Every profile any service names (for `config --profiles`). */
  allProfiles: string[];
  environment: Record<string, string>;
}

export function loadProject(opts: LoadOptions): LoadResult {
  const shell = opts.shell ?? {};
  const warnings: string[] = [];
  const warn = (w: string): void => {
    if (!warnings.includes(w)) warnings.push(w);
  };

  const env = resolveEnvironment({
    shell,
    envFiles: opts.envFiles ?? [],
    projectDir: envDirectory({ files: opts.files ?? [], projectDirectory: opts.projectDirectory, cwd: opts.cwd }),
    cwd: opts.cwd,
  });
  const discovered = discoverFiles({
    files: opts.files ?? [],
    projectDirectory: opts.projectDirectory,
    cwd: opts.cwd,
    environment: env.environment,
  });
  discovered.warnings.forEach(warn);
  const workingDir = discovered.workingDir;
  const environment = env.environment;
  let stdinText: string | undefined;
  const readText = (file: string): string => {
    if (file === STDIN_FILE) {
      stdinText ??= opts.stdin?.() ?? readFileSync(0, 'utf8');
      return stdinText;
    }
    return readFileSync(file, 'utf8');
  };
  const display = (file: string): string => displayName(file, opts.cwd);

  const loader = makeFileLoader({
    readText,
    display,
    environment,
    workingDir,
    interpolate: opts.interpolate !== false,
    warn,
  });

  // The project name may come from a `name:` (interpolated on its own, as compose-go does);
  // once known it is `${COMPOSE_PROJECT_NAME}` for the interpolation of everything else.
  const raw = discovered.files.map((file) => ({ file, docs: loader.parse(file) }));
  const projectName = resolveProjectName({
    flag: opts.projectName,
    env: environment.COMPOSE_PROJECT_NAME,
    fromFile: lastName(raw.flatMap((p) => p.docs.map((d) => loader.nameOnly(d)))),
    workingDir,
  });
  loader.setProjectName(projectName);
  const parsed = raw.map(({ file, docs }) => ({ file, docs: docs.map((d) => loader.prepare(d, file)) }));

  let merged: MergeInput | undefined;
  for (const { file, docs } of parsed) {
    for (const doc of docs) {
      const input = loader.finish(doc, file);
      merged =
        merged === undefined
          ? { tree: applyResetTags(input), positions: input.positions }
          : mergeTrees(merged, input);
    }
  }
  let tree: ComposeTree = merged?.tree ?? {};
  const positions = merged?.positions ?? new PositionTable(display(discovered.files[0] ?? ''));
  const ctx: PhaseContext = { positions, workingDir, projectName, environment: loader.environment() };

  tree = applyInclude(tree, ctx, {
    chain: discovered.files.map(display),
    display,
    shell,
    loadSubProject: (sub) => loadSubProject(sub, { readText, display, interpolate: opts.interpolate !== false, warn, shell }),
  });
  const allProfiles = listProfiles(tree);
  const profiles = activeProfiles(opts.profiles ?? [], environment.COMPOSE_PROFILES);
  tree = applyProfiles(tree, ctx, { profiles, services: opts.services ?? [] });
  tree = resolvePaths(tree, ctx);
  if (opts.normalize !== false) tree = normalize(tree, ctx);
  tree = applyDefaults(tree, ctx);
  tree = validateProject(tree, ctx, { canonical: true }); // applyDefaults ran the canonical rules
  // docker compose resolves env and label files for every command and drops env_file and
  // label_file (compose-go WithDiscardEnvFile): `config` prints them merged, containers get them.
  tree = resolveEnvFiles(tree, ctx, (path, format) => readEnvFile(path, format, ctx.environment), { discard: true });
  tree = resolveLabelFiles(tree, ctx, readLabelFile, { discard: true });
  const final: ComposeTree = { name: projectName, ...withoutKey(tree, 'name') };
  // The typed Project is built on first use: `config` prints the tree and never needs it.
  let project: Project | undefined;
  return {
    get project(): Project {
      project ??= buildProject(final, ctx);
      return project;
    },
    tree: final,
    positions,
    warnings,
    files: discovered.files,
    allProfiles,
    environment,
  };
}

/**
 * One env_file, or undefined when it does not exist: `.env` syntax with `${VAR}` from the
 * project environment, or with `format: raw` each `KEY=VALUE` line taken as it is.
 */
function readEnvFile(path: string, format: string | undefined, environment: Readonly<Record<string, string>>): Record<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TscError('ERR_COMPOSE_NOT_FOUND', `cannot read env file ${path}: ${(e as Error).message}`, { file: path, cause: e });
  }
  if (format === 'raw') {
    const out: Record<string, string> = {};
    for (const line of text.split(/\r?\n/)) {
      if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
      const eq = line.indexOf('=');
      if (eq === -1) out[line.trim()] = '';
      else out[line.slice(0, eq).trim()] = line.slice(eq + 1);
    }
    return out;
  }
  return parseDotenv(text, path, (name) => (Object.hasOwn(environment, name) ? environment[name] : undefined));
}

/** One label file (`.env` syntax), or undefined when it does not exist. */
function readLabelFile(path: string, resolve: (name: string) => string | undefined): Record<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TscError('ERR_COMPOSE_NOT_FOUND', `cannot read label file ${path}: ${(e as Error).message}`, { file: path, cause: e });
  }
  return parseDotenv(text, path, () => undefined, resolve);
}

/** `--profile` values, or else `COMPOSE_PROFILES` (comma-separated). */
function activeProfiles(flags: readonly string[], env: string | undefined): string[] {
  if (flags.length > 0) return [...flags];
  if (env === undefined || env === '') return [];
  return env
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

interface LoaderSetup {
  readText: (file: string) => string;
  display: (file: string) => string;
  environment: Readonly<Record<string, string>>;
  workingDir: string;
  interpolate: boolean;
  warn: (w: string) => void;
}

/**
 * The per-file half of the pipeline, bound to one project's environment and directory; also
 * what `extends` reads other files with.
 */
function makeFileLoader(setup: LoaderSetup) {
  let projectName = '';
  let environment: Readonly<Record<string, string>> = setup.environment;
  const ctxFor = (positions: PositionTable): PhaseContext => ({
    positions,
    workingDir: setup.workingDir,
    projectName,
    environment,
  });
  const interpolateTree = (tree: ComposeTree, positions: PositionTable): ComposeTree =>
    setup.interpolate
      ? interpolate(tree, ctxFor(positions), {
          onUnset: (name) => setup.warn(`The "${name}" variable is not set. Defaulting to a blank string.`),
        })
      : tree;
  const loader = {
    /** Also makes `COMPOSE_PROJECT_NAME` available to interpolation, unless it is set. */
    setProjectName(name: string): void {
      projectName = name;
      if (name !== '' && !Object.hasOwn(setup.environment, 'COMPOSE_PROJECT_NAME')) {
        environment = { ...setup.environment, COMPOSE_PROJECT_NAME: name };
      }
    },
    environment: (): Readonly<Record<string, string>> => environment,
    /** The documents of a file, as parsed. */
    parse(file: string): ParsedDocument[] {
      const shown = setup.display(file);
      let text: string;
      try {
        text = setup.readText(file);
      } catch (e) {
        throw new TscError('ERR_COMPOSE_NOT_FOUND', `cannot read ${shown}: ${(e as Error).message}`, { file: shown, cause: e });
      }
      return parseCompose(text, shown);
    },
    /** A document with only its top-level `name` interpolated (for the project name). */
    nameOnly(doc: ParsedDocument): ParsedDocument {
      if (typeof doc.tree.name !== 'string') return doc;
      return { ...doc, tree: interpolateTree({ name: doc.tree.name }, doc.positions) };
    },
    /** Interpolation, and the obsolete `version` dropped with a warning. */
    prepare(doc: ParsedDocument, file: string): ParsedDocument {
      let tree = interpolateTree(doc.tree, doc.positions);
      if (Object.hasOwn(tree, 'version')) {
        const shown = setup.display(file);
        setup.warn(`${shown}: the attribute \`version\` is obsolete, it will be ignored, please remove it to avoid potential confusion`);
        tree = withoutKey(tree, 'version');
      }
      return { ...doc, tree };
    },
    read(file: string): ParsedDocument[] {
      return loader.parse(file).map((d) => loader.prepare(d, file));
    },
    finish(doc: ParsedDocument, file: string): MergeInput {
      const ctx = ctxFor(doc.positions);
      let tree = validateSchema(doc.tree, ctx);
      tree = resolveExtends(tree, ctx, { file, display: setup.display, loader });
      tree = canonicalize(tree, ctx);
      return { tree, positions: doc.positions, tags: doc.tags };
    },
  };
  return loader;
}

export interface SubProjectRequest {
  files: string[];
  workingDir: string;
  environment: Record<string, string>;
  /** Include chain so far (display names), for cycle errors. */
  chain: string[];
}

/** An included project: its own directory and environment, loaded up to resolved paths. */
function loadSubProject(
  req: SubProjectRequest,
  setup: Omit<LoaderSetup, 'environment' | 'workingDir'> & { shell: Readonly<Record<string, string | undefined>> },
): ComposeTree {
  const loader = makeFileLoader({ ...setup, environment: req.environment, workingDir: req.workingDir });
  let merged: MergeInput | undefined;
  for (const file of req.files) {
    for (const doc of loader.read(file)) {
      const input = loader.finish(doc, file);
      merged = merged === undefined ? { tree: applyResetTags(input), positions: input.positions } : mergeTrees(merged, input);
    }
  }
  const positions = merged?.positions ?? new PositionTable();
  const ctx: PhaseContext = { positions, workingDir: req.workingDir, projectName: '', environment: req.environment };
  let tree = merged?.tree ?? {};
  tree = applyInclude(tree, ctx, {
    chain: req.chain,
    display: setup.display,
    shell: setup.shell,
    loadSubProject: (sub) => loadSubProject(sub, setup),
  });
  return resolvePaths(withoutKey(tree, 'name'), ctx);
}

function lastName(docs: readonly ParsedDocument[]): { name: string; file: string } | undefined {
  let found: { name: string; file: string } | undefined;
  for (const d of docs) {
    const n = d.tree.name;
    if (typeof n === 'string') found = { name: n, file: d.positions.defaultFile ?? '' };
  }
  return found;
}

function withoutKey(tree: ComposeTree, key: string): ComposeTree {
  if (!Object.hasOwn(tree, key)) return tree;
  const out: ComposeTree = {};
  for (const [k, v] of Object.entries(tree)) if (k !== key) setKey(out, k, v);
  return out;
}

/** A file as errors name it: relative to the current directory when under it. */
export function displayName(file: string, cwd: string): string {
  if (file === STDIN_FILE) return file;
  const rel = relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}
