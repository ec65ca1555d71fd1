import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { loadSigningKeys } from "../src/runtime/oidc-keys.js";
import { loadMasterKey, SecretBox } from "../src/secrets/secret-box.js";
import { secretsForJob, setSecret } from "../src/secrets/secret-store.js";
import { openStore } from "../src/store/open-store.js";
import { runCli } from "./helpers/capture.js";

/** A data directory with a master key, a repository and two secrets sealed under that key. */
async function seeded(env?: string) {
  const dataDir = mkdtempSync(join(tmpdir(), "trunkline-rotate-"));
  const key = loadMasterKey({
    env: env ? { TRUNKLINE_MASTER_KEY: env } : {},
    file: join(dataDir, "master.key"),
  });
  const box = new SecretBox(key);
  const store = await openStore({ dataDir });
  await store.db
    .insertInto("repositories")
    .values({ id: "r1", name: "app", default_branch: "main", created_at: 1 })
    .execute();
  await setSecret(store.db, box, { kind: "repository", repositoryId: "r1" }, "A", "alpha");
  await setSecret(store.db, box, { kind: "organization" }, "B", "beta");
  // The OIDC signing key a server made on its first start, sealed under the same key.
  await loadSigningKeys(store.db, box);
  await store.close();
  return { dataDir, box };
}

async function secretsWith(dataDir: string, box: SecretBox) {
  const store = await openStore({ dataDir });
  try {
    return await secretsForJob(store.db, box, { repositoryId: "r1", fromFork: false });
  } finally {
    await store.close();
  }
}

async function signingKid(dataDir: string, box: SecretBox) {
  const store = await openStore({ dataDir });
  try {
    return (await loadSigningKeys(store.db, box))[0]?.kid;
  } finally {
    await store.close();
  }
}

describe("trunkline secrets rotate-key", () => {
  const saved = process.env.TRUNKLINE_MASTER_KEY;
  afterEach(() => {
    if (saved === undefined) delete process.env.TRUNKLINE_MASTER_KEY;
    else process.env.TRUNKLINE_MASTER_KEY = saved;
  });

  test("re-encrypts every secret under a new key and installs it, keeping the old one aside", async () => {
    delete process.env.TRUNKLINE_MASTER_KEY;
    const { dataDir, box: oldBox } = await seeded();
    const kid = await signingKid(dataDir, oldBox);
    const oldKey = readFileSync(join(dataDir, "master.key"), "utf8");
    const result = await runCli(["secrets", "rotate-key", "--data-dir", dataDir]);
    expect(result.code).toBe(0);
    const newBox = new SecretBox(loadMasterKey({ env: {}, file: join(dataDir, "master.key") }));
    expect(result.stderr).toBe(
      `trunkline: 2 secret(s) re-encrypted with key ${newBox.keyId}, now in ${join(dataDir, "master.key")}; the old key is in ${join(dataDir, "master.key")}.previous (delete it once the server runs)`,
    );
    expect(readFileSync(join(dataDir, "master.key.previous"), "utf8")).toBe(oldKey);
    expect(await secretsWith(dataDir, newBox)).toEqual({ A: "alpha", B: "beta" });
    await expect(secretsWith(dataDir, oldBox)).rejects.toThrow("rotate with the old key");
    // The signing key is re-sealed too: the server signs with the same key after the rotation.
    const store = await openStore({ dataDir });
    try {
      const [key] = await loadSigningKeys(store.db, newBox);
      expect(key?.kid).toBe(kid);
      await expect(loadSigningKeys(store.db, oldBox)).rejects.toThrow("rotate with the old key");
    } finally {
      await store.close();
    }
  });

  test("with the key in the environment, writes the new key for the operator; a given key is used", async () => {
    const envKey = "11".repeat(32);
    process.env.TRUNKLINE_MASTER_KEY = envKey;
    const { dataDir } = await seeded(envKey);
    const next = join(dataDir, "next.key");
    writeFileSync(next, "22".repeat(32));
    const result = await runCli([
      "secrets",
      "rotate-key",
      "--data-dir",
      dataDir,
      "--new-key-file",
      next,
    ]);
    expect(result.code).toBe(0);
    const newBox = new SecretBox(Buffer.from("22".repeat(32), "hex"));
    expect(result.stderr).toContain(
      `set TRUNKLINE_MASTER_KEY to the key in ${join(dataDir, `master.key.${newBox.keyId}`)}`,
    );
    expect(await secretsWith(dataDir, newBox)).toEqual({ A: "alpha", B: "beta" });
    // The same key again is refused; a missing key file is named.
    process.env.TRUNKLINE_MASTER_KEY = "22".repeat(32);
    expect(
      (await runCli(["secrets", "rotate-key", "--data-dir", dataDir, "--new-key-file", next]))
        .stderr,
    ).toBe("trunkline: the new key is the current key");
    expect(
      (await runCli(["secrets", "rotate-key", "--data-dir", dataDir, "--new-key-file", "/nope"]))
        .stderr,
    ).toBe("trunkline: --new-key-file /nope: no such file");
  });
});
