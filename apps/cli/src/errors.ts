/** Exit codes of the gatehouse command (documented in docs/cli.md). */
export const ExitCode = {
  OK: 0,
  /** The admin API answered and refused (its error message is printed). */
  REFUSED: 1,
  /** The command line is wrong (unknown option, missing argument, ambiguous name, no admin token). */
  USAGE: 2,
  /** The admin API could not be reached, or what answered is not the admin API. */
  UNREACHABLE: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error meant for the user: printed as one or more lines of words, never as a stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(message, ExitCode.USAGE);
