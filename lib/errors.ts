/**
 * The one error type users see. A TscError is a problem with the user's input or
 * environment (a bad compose file, a missing image, a port already taken); anything
 * else that is thrown is a bug and is printed with its stack.
 *
 * The message is the sentence a user reads. Where the problem is in a file, `file`,
 * `line` and `col` say where, and `path` names the key (`services.web.ports[1]`);
 * `format()` puts them in front of the message the way compilers do.
 */

/** Stable codes: tests assert on them and the CLI maps them to exit status. */
export type TscErrorCode =
  | 'ERR_COMPOSE_YAML' // the file is not valid YAML
  | 'ERR_COMPOSE_SCHEMA' // a key or value the Compose Specification does not allow
  | 'ERR_COMPOSE_INTERPOLATION' // a bad ${...} or a required variable that is unset
  | 'ERR_COMPOSE_INVALID' // a cross-field rule: unknown service, cycle, conflict
  | 'ERR_COMPOSE_NOT_FOUND' // no compose file, a missing env_file or extends file
  | 'ERR_PROJECT_NAME' // the project name is not valid
  | 'ERR_USAGE' // the command line is wrong
  | 'ERR_NOT_FOUND' // a container, image, network or volume that does not exist
  | 'ERR_CONFLICT' // it exists already, or is in use
  | 'ERR_RUNTIME' // the container runtime failed
  | 'ERR_IMAGE' // an image could not be pulled, loaded or read
  | 'ERR_AUTH' // registry credentials refused, or a config.json / credential helper failed
  | 'ERR_NETWORK' // a network could not be made as asked
  | 'ERR_UNSUPPORTED' // asked for something this build cannot do (yet)
  | 'ERR_DOCKERFILE' // a Dockerfile or .dockerignore that does not parse, or a bad build stage
  | 'ERR_AGENT' // the node agent could not be reached or failed
  | 'ERR_CANCELLED' // the caller went away or asked to stop (a build whose client disconnected)
  | 'ERR_RAFT' // consensus: no leader, not a member, proposal dropped
  | 'ERR_INTERNAL';

export interface TscErrorDetails {
  file?: string | undefined;
  line?: number | undefined;
  col?: number | undefined;
  /** Dotted key path inside the file, e.g. `services.web.ports[1]`. */
  path?: string | undefined;
  hint?: string | undefined;
  cause?: unknown;
}

export class TscError extends Error {
  readonly code: TscErrorCode;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly col: number | undefined;
  readonly path: string | undefined;
  readonly hint: string | undefined;

  constructor(code: TscErrorCode, message: string, details: TscErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'TscError';
    this.code = code;
    this.file = details.file;
    this.line = details.line;
    this.col = details.col;
    this.path = details.path;
    this.hint = details.hint;
  }

  /** `file:line:col path: message`, with whatever of the location is known. */
  format(): string {
    let where = '';
    if (this.file !== undefined) {
      where = this.file;
      if (this.line !== undefined) {
        where += `:${this.line}`;
        if (this.col !== undefined) where += `:${this.col}`;
      }
    }
    if (this.path !== undefined && this.path !== '') where = where === '' ? this.path : `${where} ${this.path}`;
    const text = where === '' ? this.message : `${where}: ${this.message}`;
    return this.hint === undefined ? text : `${text}\nhint: ${this.hint}`;
  }
}

export function isTscError(e: unknown, code?: TscErrorCode): e is TscError {
  return e instanceof TscError && (code === undefined || e.code === code);
}

/** Exit status for an error, as `docker compose` gives: 1 for everything it reports. */
export function exitCodeFor(e: unknown): number {
  if (e instanceof TscError) return e.code === 'ERR_USAGE' ? 1 : e.code === 'ERR_INTERNAL' ? 2 : 1;
  return 2;
}
