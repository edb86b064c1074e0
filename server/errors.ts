/**
 * Errors are values with codes: every edge (HTTP, socket ack, chat reply) maps an AppError to
 * what its user sees. The message is written for the person on stage: what went wrong and what
 * to do about it.
 */
export type AppErrorCode =
  | "bad_request"
  | "invalid_pr_reference"
  | "not_found"
  | "unauthorized"
  | "forbidden"
  | "conflict"
  | "rate_limited"
  | "head_moved"
  | "git_failed"
  | "nix_failed"
  | "github_failed"
  | "nothing_to_build"
  | "unavailable"
  | "internal";

export class AppError extends Error {
  constructor(
    readonly code: AppErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "AppError";
  }
}

/**
 * Duck-typed on purpose: Next bundles route handlers separately from the custom server, so an
 * AppError thrown by a service is not an instance of the bundle's copy of the class.
 */
export function isAppError(error: unknown): error is AppError {
  return (
    error instanceof Error && error.name === "AppError" && typeof (error as { code?: unknown }).code === "string"
  );
}

const HTTP_STATUS: Record<AppErrorCode, number> = {
  bad_request: 400,
  invalid_pr_reference: 400,
  not_found: 404,
  unauthorized: 401,
  forbidden: 403,
  conflict: 409,
  rate_limited: 429,
  head_moved: 409,
  git_failed: 502,
  nix_failed: 500,
  github_failed: 502,
  nothing_to_build: 422,
  unavailable: 503,
  internal: 500,
};

export function httpStatusOf(error: AppError): number {
  return HTTP_STATUS[error.code] ?? 500;
}
