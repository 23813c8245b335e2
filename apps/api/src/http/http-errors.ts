import { assertUnreachable, type ErrorCode } from '@gatehouse/contracts';

/** Maps every domain error code to an HTTP status and a Cloudflare-style numeric error code. */
export function statusOf(code: ErrorCode): { status: number; cfCode: number } {
  switch (code) {
    case 'VALIDATION_FAILED':
    case 'INVALID_DURATION':
      return { status: 400, cfCode: 10001 };
    case 'NOT_FOUND':
      return { status: 404, cfCode: 10404 };
    case 'CONFLICT':
      return { status: 409, cfCode: 10409 };
    case 'UNAVAILABLE':
      return { status: 503, cfCode: 10503 };
    case 'INTERNAL':
      return { status: 500, cfCode: 10500 };
    default:
      return assertUnreachable(code);
  }
}

/** An error raised by the HTTP layer itself (auth, body parsing, routing). */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly cfCode: number,
    message: string,
  ) {
    super(message);
  }
}
