/**
 * Errors a user can act on. The CLI prints them as one line,
 * `xai-tools: <file>: <what is wrong>`, and exits 1; anything else is a bug.
 */
export class UserError extends Error {
  /** The file (or option) the problem is about; omitted from the message when empty. */
  readonly file: string | undefined;

  constructor(file: string | undefined, message: string) {
    super(message);
    this.name = 'UserError';
    this.file = file;
  }

  /** The single line the CLI prints (without the `xai-tools: ` prefix). */
  get line(): string {
    return this.file ? `${this.file}: ${this.message}` : this.message;
  }
}

/** Raised when the user interrupts long work (Ctrl-C, SIGTERM); exit code 130. */
export class InterruptedError extends Error {
  constructor(message = 'interrupted') {
    super(message);
    this.name = 'InterruptedError';
  }
}

/** Shorthand for `throw new UserError(file, message)` in expression position. */
export function fail(file: string | undefined, message: string): never {
  throw new UserError(file, message);
}
