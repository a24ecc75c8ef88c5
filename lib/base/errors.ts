/**
 * The one error base of zk-ha. Every error the library raises or reports carries a stable
 * `code` that callers switch on; the message is for humans and may change.
 */
export class ZkHaError<C extends string = string> extends Error {
  readonly code: C;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: C, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** An option given to a constructor or function is missing, of the wrong type or out of range. */
export class InvalidOptionError extends ZkHaError<'INVALID_OPTION'> {
  readonly option: string;
  constructor(option: string, message: string) {
    super('INVALID_OPTION', `option "${option}": ${message}`, { option });
    this.option = option;
  }
}
