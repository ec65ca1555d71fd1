import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { ErrorCode, InputError, TrunklineError } from "../common/errors.js";

const VERSION = "v1";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Encrypts secrets at rest with AES-256-GCM under a 32-byte master key. A sealed value reads
 * `v1:<key id>:<base64 of nonce | ciphertext | tag>`; the key id (a hash prefix of the key)
 * says which key sealed it, so a rotation can tell old values from new. Each value is bound
 * to its place (`aad`, e.g. its scope and name): moved elsewhere it no longer opens.
 */
export class SecretBox {
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32)
      throw new InputError(`the master key must be 32 bytes, not ${key.length}`);
    this.keyId = createHash("sha256").update(key).digest("hex").slice(0, 12);
  }

  /** Encrypts `plaintext`, bound to `aad`. A fresh random nonce every time. */
  seal(plaintext: string, aad: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
    cipher.setAAD(Buffer.from(aad, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return `${VERSION}:${this.keyId}:${Buffer.concat([nonce, body, cipher.getAuthTag()]).toString("base64")}`;
  }

  /** Decrypts a sealed value; throws when it was sealed with another key, elsewhere, or tampered with. */
  open(sealed: string, aad: string): string {
    const [version, keyId, payload] = sealed.split(":");
    if (version !== VERSION || !keyId || !payload)
      throw new TrunklineError(ErrorCode.Internal, "not a sealed secret");
    if (keyId !== this.keyId) {
      throw new TrunklineError(
        ErrorCode.InvalidInput,
        `the secret was sealed with key ${keyId}, not ${this.keyId}: rotate with the old key`,
      );
    }
    const raw = Buffer.from(payload, "base64");
    const nonce = raw.subarray(0, NONCE_BYTES);
    const tag = raw.subarray(raw.length - TAG_BYTES);
    const body = raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES);
    const decipher = createDecipheriv("aes-256-gcm", this.key, nonce);
    decipher.setAAD(Buffer.from(aad, "utf8"));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
    } catch {
      throw new TrunklineError(
        ErrorCode.Internal,
        "a sealed secret does not open: tampered with, or moved from elsewhere",
      );
    }
  }
}

/**
 * The master key: `TRUNKLINE_MASTER_KEY` (64 hex characters or base64 of 32 bytes) when set,
 * otherwise the key file, created with a random key and mode 0600 when it does not exist.
 */
export function loadMasterKey(options: { env?: NodeJS.ProcessEnv; file: string }): Buffer {
  const text = (options.env ?? process.env).TRUNKLINE_MASTER_KEY;
  if (text !== undefined) return parseKey(text, "TRUNKLINE_MASTER_KEY");
  if (!existsSync(options.file)) {
    mkdirSync(dirname(options.file), { recursive: true });
    writeFileSync(options.file, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
    chmodSync(options.file, 0o600);
  }
  return parseKey(readFileSync(options.file, "utf8"), options.file);
}

function parseKey(text: string, where: string): Buffer {
  const value = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(value)
    ? Buffer.from(value, "hex")
    : Buffer.from(value, "base64");
  if (key.length !== 32)
    throw new InputError(
      `${where}: expected 32 bytes as 64 hex characters or base64, got ${key.length} bytes`,
    );
  return key;
}
