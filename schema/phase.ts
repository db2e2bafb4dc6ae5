/**
 * The shape every loader phase shares: a plain tree in, a plain tree out (phases return new
 * trees, never edit their input), with a context saying where the tree came from. The typed
 * `Project` is built once, at the end (`project.ts`).
 */
import type { PositionTable } from './positions.js';

/** A compose document as plain JSON-like values (mappings, sequences, scalars). */
export type ComposeTree = Record<string, unknown>;

export interface PhaseContext {
  /** Positions of the keys of the tree being worked on. */
  positions: PositionTable;
  /** The project directory, absolute: relative paths resolve against it. */
  workingDir: string;
  projectName: string;
  /** The variables interpolation and `environment` resolution see (shell over env files). */
  environment: Readonly<Record<string, string>>;
}
