import { createHmac, timingSafeEqual } from "node:crypto";

/** The header GitHub signs webhook deliveries with. */
export const SIGNATURE_HEADER = "x-hub-signature-256";

/**
 * Whether `signature` (the `X-Hub-Signature-256` header, `sha256=<hex>`) is the HMAC-SHA256
 * of the raw request body under `secret`. The comparison takes the same time whatever the
 * input, so a forger learns nothing from timing; a missing or malformed header is false.
 */
export function verifySignature(
  secret: string,
  rawBody: Buffer | string,
  signature: string | undefined,
): boolean {
  if (signature === undefined || !signature.startsWith("sha256=")) return false;
  const given = Buffer.from(signature.slice("sha256=".length), "hex");
  const expected = createHmac("sha256", secret).update(rawBody).digest();
  // A wrong length is refused up front (timingSafeEqual requires equal lengths); the length
  // of a SHA-256 digest is public.
  if (given.length !== expected.length) return false;
  return timingSafeEqual(given, expected);
}

/** The `X-Hub-Signature-256` value for a body, as GitHub computes it. */
export function signBody(secret: string, rawBody: Buffer | string): string {
  return `sha256=${createHmac("sha256", secret).update(rawBody).digest("hex")}`;
}
