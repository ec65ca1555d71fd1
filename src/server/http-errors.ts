import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ErrorCode } from "../common/errors.js";

/** An error answer of the API: its status and the documented `{ code, message }` body. */
export interface ErrorAnswer {
  readonly status: number;
  readonly body: { readonly code: string; readonly message: string };
}

/**
 * The answer to an error Fastify raised before a route's handler ran (reading the body, its
 * size, its content type, ...), with a stable code instead of Fastify's internal one and a
 * message naming what was wrong. Any other client error keeps its status and gets the code of
 * that status.
 */
export function fastifyErrorAnswer(err: FastifyError, request: FastifyRequest): ErrorAnswer {
  const status = err.statusCode ?? 400;
  switch (err.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return invalid(400, "body: not valid JSON");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return invalid(400, "body: empty, but content-type is application/json");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return invalid(400, "content-length: does not match the body");
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return {
        status: 413,
        body: {
          code: ErrorCode.PayloadTooLarge,
          message: `body: larger than the ${request.routeOptions.bodyLimit ?? "allowed"} bytes this route accepts`,
        },
      };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return {
        status: 415,
        body: {
          code: ErrorCode.UnsupportedMediaType,
          message: `content-type: '${request.headers["content-type"] ?? ""}' is not accepted here; send application/json`,
        },
      };
    default:
      return { status, body: { code: codeOfStatus(status), message: err.message } };
  }
}

/**
 * The answer to a request no route matches: `404 { code: "not_found" }` naming the method and
 * path (never the query, which may hold a credential).
 */
export function notFoundAnswer(request: FastifyRequest): ErrorAnswer {
  const path = request.url.split("?")[0] ?? "";
  return {
    status: 404,
    body: { code: ErrorCode.NotFound, message: `no route ${request.method} ${path}` },
  };
}

/** Sends `answer` on `reply`. */
export function sendAnswer(reply: FastifyReply, answer: ErrorAnswer): FastifyReply {
  return reply.code(answer.status).send(answer.body);
}

function invalid(status: number, message: string): ErrorAnswer {
  return { status, body: { code: ErrorCode.InvalidRequest, message } };
}

function codeOfStatus(status: number): string {
  switch (status) {
    case 404:
      return ErrorCode.NotFound;
    case 413:
      return ErrorCode.PayloadTooLarge;
    case 415:
      return ErrorCode.UnsupportedMediaType;
    default:
      return ErrorCode.InvalidRequest;
  }
}
