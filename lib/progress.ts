/**
 * Progress as a typed event stream: the reconciler and the image puller emit events, a
 * reporter renders them (an ink view on a TTY, plain lines, JSON lines, or nothing), as
 * docker compose does for `up`, `down` and `pull`.
 */

export type ProgressState = 'working' | 'done' | 'error' | 'warning';

export interface ProgressEvent {
  /** What the line is about, as docker compose names it: `Container p-web-1`, `Network p_default`. */
  id: string;
  /** Verb of the step: Creating, Created, Starting, Started, Stopping, Removed, Pulling, Waiting, Healthy... */
  status: string;
  state: ProgressState;
  /** Extra text: an error message, layer progress. */
  text?: string;
  /** For pulls: bytes so far and in all. */
  current?: number;
  total?: number;
  /** The parent line (a layer's image). */
  parentId?: string;
}

export interface Reporter {
  emit(e: ProgressEvent): void;
  /** Render the final state and release the terminal. */
  close(): Promise<void>;
}

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'json' | 'quiet';

/** `Container p-web-1  Started` with its verb; the helpers keep the names in one place. */
export const resource = {
  container: (name: string) => `Container ${name}`,
  network: (name: string) => `Network ${name}`,
  volume: (name: string) => `Volume ${name}`,
  image: (name: string) => `Image ${name}`,
};
