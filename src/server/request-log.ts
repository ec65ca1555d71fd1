import type { FastifyRequest } from "fastify";

/** What stands in a request log for a value that may be a credential. */
export const REDACTED = "[REDACTED]";

/**
 * Query parameters whose value is a credential by their name (`token`, `access_token`,
 * `api_key`, `secret`, `password`, `auth`, `sig`, `signature`, `session`, `code`...).
 */
const CREDENTIAL_NAME = /token|key|secret|pass|auth|sig|session|credential|code/i;

/** A Trunkline API token (`tl_`) or runner token (`tlr_`), whatever it is called. */
const TOKEN = "tlr?_[A-Za-z0-9_-]{8,}";
const HAS_TOKEN = new RegExp(TOKEN);
const EVERY_TOKEN = new RegExp(TOKEN, "g");

/**
 * `url` (a request's path and query) as a request log may show it: the value of every query
 * parameter named like a credential, and every Trunkline token anywhere in it, replaced by
 * {@link REDACTED}. The server takes tokens only from the Authorization header, but a client
 * may still put one in a URL; it must not reach the logs. Other parameters are kept as sent.
 */
export function redactUrl(url: string): string {
  const mark = url.indexOf("?");
  const path = (mark < 0 ? url : url.slice(0, mark)).replace(EVERY_TOKEN, REDACTED);
  if (mark < 0) return path;
  const query = url
    .slice(mark + 1)
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      const name = eq < 0 ? pair : pair.slice(0, eq);
      const credential =
        (eq >= 0 && CREDENTIAL_NAME.test(decodeLoosely(name))) ||
        HAS_TOKEN.test(decodeLoosely(pair));
      if (!credential) return pair;
      return eq < 0 || HAS_TOKEN.test(decodeLoosely(name)) ? REDACTED : `${name}=${REDACTED}`;
    })
    .join("&");
  return `${path}?${query}`;
}

/**
 * pino serializers for the server's logger: Fastify's request serializer with the URL
 * redacted by {@link redactUrl}.
 */
export const requestLogSerializers = {
  req: (request: FastifyRequest) => ({
    method: request.method,
    url: redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  }),
};

function decodeLoosely(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch {
    return text;
  }
}
