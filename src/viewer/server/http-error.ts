/**
 * An error answered to the client as `{"errorMessage": …}` with its status code.
 * Anything else thrown by a handler is a bug and is answered 500 without details.
 */
export class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, message);
export const notFound = (message: string): HttpError => new HttpError(404, message);
