import { randomBytes } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { InputError } from "../common/errors.js";
import { resealSigningKeys } from "../runtime/oidc-keys.js";
import { loadMasterKey, SecretBox } from "../secrets/secret-box.js";
import { rotateSecrets } from "../secrets/secret-store.js";
import { dataDirOf } from "./data-dir.js";
import { openExistingStore } from "./existing-store.js";
import type { Output } from "./terminal.js";

/**
 * `trunkline secrets rotate-key`: re-encrypts every secret under a new master key in one
 * transaction, then installs the key. The old key is the one the server uses
 * (`TRUNKLINE_MASTER_KEY`, else `<data dir>/master.key`); the new one comes from
 * `--new-key-file` or is generated. A key file in the data directory is replaced (the old one
 * kept as `master.key.previous` until the operator deletes it); a key from the environment
 * cannot be replaced from here, so the new key is written to a file for the operator.
 * Run it with the server stopped: a running server still holds the old key.
 */
export async function rotateKeyCommand(
  options: { dataDir?: string; database?: string; newKeyFile?: string },
  io: Output,
): Promise<number> {
  const dataDir = dataDirOf(options);
  const keyFile = join(dataDir, "master.key");
  const fromEnv = process.env.TRUNKLINE_MASTER_KEY !== undefined;
  if (!fromEnv && !existsSync(keyFile))
    throw new InputError(
      `no master key at ${keyFile} and TRUNKLINE_MASTER_KEY is not set: nothing to rotate`,
    );
  const oldBox = new SecretBox(loadMasterKey({ file: keyFile }));
  const newKey = options.newKeyFile
    ? loadMasterKey({ env: {}, file: mustExist(options.newKeyFile) })
    : randomBytes(32);
  const newBox = new SecretBox(newKey);
  if (newBox.keyId === oldBox.keyId) throw new InputError("the new key is the current key");
  const store = await openExistingStore(options);
  let count: number;
  try {
    count = await rotateSecrets(store.db, oldBox, newBox);
    // The OIDC signing keys are sealed with the master key too.
    await resealSigningKeys(store.db, oldBox, newBox);
  } finally {
    await store.close();
  }
  const hex = `${newKey.toString("hex")}\n`;
  if (fromEnv) {
    const out = join(dataDir, `master.key.${newBox.keyId}`);
    writeFileSync(out, hex, { mode: 0o600 });
    io.err(
      `trunkline: ${count} secret(s) re-encrypted with key ${newBox.keyId}; set TRUNKLINE_MASTER_KEY to the key in ${out} before starting the server`,
    );
    return 0;
  }
  copyFileSync(keyFile, `${keyFile}.previous`);
  chmodSync(`${keyFile}.previous`, 0o600);
  writeFileSync(`${keyFile}.next`, hex, { mode: 0o600 });
  renameSync(`${keyFile}.next`, keyFile);
  io.err(
    `trunkline: ${count} secret(s) re-encrypted with key ${newBox.keyId}, now in ${keyFile}; the old key is in ${keyFile}.previous (delete it once the server runs)`,
  );
  return 0;
}

function mustExist(file: string): string {
  if (!existsSync(file)) throw new InputError(`--new-key-file ${file}: no such file`);
  readFileSync(file); // unreadable files fail here, with the path in the message
  return file;
}
