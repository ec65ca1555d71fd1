import { describe, expect, test } from "vitest";
import { signBody, verifySignature } from "./signature.js";

// GitHub's published test vector ("Validating webhook deliveries").
const SECRET = "It's a Secret to Everybody";
const BODY = "Hello, World!";
const SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

describe("webhook signatures", () => {
  test("GitHub's test vector", () => {
    expect(signBody(SECRET, BODY)).toBe(SIGNATURE);
    expect(verifySignature(SECRET, Buffer.from(BODY), SIGNATURE)).toBe(true);
  });

  test.each([
    ["missing", undefined],
    ["empty", ""],
    ["sha1 form", "sha1=0123"],
    ["wrong digest", `sha256=${"0".repeat(64)}`],
    ["truncated", SIGNATURE.slice(0, -2)],
    ["not hex", "sha256=zz"],
    ["another secret's", signBody("other", BODY)],
    ["another body's", signBody(SECRET, `${BODY} `)],
  ])("%s signature is refused", (_name, signature) => {
    expect(verifySignature(SECRET, BODY, signature)).toBe(false);
  });
});
