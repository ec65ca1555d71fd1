/**
 * Stable error codes. Codes never change meaning once released; scripts and the API match
 * on them rather than on messages.
 */
export const ErrorCode = {
  /** The user's input (a flag, a file, a value) is wrong; the message says where. */
  InvalidInput: "invalid_input",
  /** A workflow or config file has errors; `diagnostics` lists them all. */
  InvalidWorkflow: "invalid_workflow",
  /** A file or directory the user named does not exist or cannot be read. */
  NotFound: "not_found",
  /** The caller may not do or say this: a runner writing about a job or lease not its own. */
  Forbidden: "forbidden",
  /** An expression failed to evaluate. */
  Expression: "expression_error",
  /** A job needs a container engine (Docker or Podman) and none answers; the message says where it looked. */
  EngineUnavailable: "engine_unavailable",
  /** A container operation failed: an image that cannot be pulled or built, a service that never became healthy. */
  Container: "container_error",
  /** A Trunkline server refused a request or could not be reached; the message says why. */
  Api: "api_error",
  /** An HTTP request to the server is malformed (a parameter, a header, a body); the message names it. */
  InvalidRequest: "invalid_request",
  /** An HTTP request's body is larger than its route accepts. */
  PayloadTooLarge: "payload_too_large",
  /** An HTTP request's body has a content type its route does not read. */
  UnsupportedMediaType: "unsupported_media_type",
  /** A bug in Trunkline itself. */
  Internal: "internal",
} as const;

/** One of {@link ErrorCode}'s values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The root of Trunkline's error tree. Every error raised on purpose is one of these, with a
 * stable `code`; anything else reaching the top is a bug and is reported as `internal`.
 * `userFacing` errors are printed as their message alone, never with a stack trace.
 */
export class TrunklineError extends Error {
  override readonly name: string = "TrunklineError";
  readonly code: ErrorCode;
  readonly userFacing: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; userFacing?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.userFacing = options?.userFacing ?? code !== ErrorCode.Internal;
  }
}

/** A user mistake: a bad flag, value or file. The message names the place. */
export class InputError extends TrunklineError {
  override readonly name = "InputError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.InvalidInput, message, options);
  }
}

/** Something the user named does not exist. */
export class NotFoundError extends TrunklineError {
  override readonly name = "NotFoundError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.NotFound, message, options);
  }
}

/** The caller is known but may not do this; the message says what was refused and why. */
export class ForbiddenError extends TrunklineError {
  override readonly name = "ForbiddenError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Forbidden, message, options);
  }
}

/** An expression that cannot be evaluated; the message carries its position when known. */
export class ExpressionError extends TrunklineError {
  override readonly name = "ExpressionError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Expression, message, options);
  }
}

/** No container engine answers where Trunkline looked; the message lists the places and how to configure one. */
export class EngineUnavailableError extends TrunklineError {
  override readonly name = "EngineUnavailableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.EngineUnavailable, message, options);
  }
}

/** A container, image, network or service could not be set up or run as the job asked. */
export class ContainerError extends TrunklineError {
  override readonly name = "ContainerError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Container, message, options);
  }
}

/** A server answered with an error, or did not answer. `status` is the HTTP status, if any. */
export class ApiError extends TrunklineError {
  override readonly name = "ApiError";
  constructor(
    message: string,
    readonly status?: number,
    /** The server's own error code (`not_found`, `forbidden`, ...), when it sent one. */
    readonly serverCode?: string,
  ) {
    super(ErrorCode.Api, message);
  }
}
