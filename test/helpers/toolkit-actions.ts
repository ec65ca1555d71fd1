import { join } from "node:path";

// Node actions written for the tests on GitHub's toolkit from npm, as real actions bundle it.

/** Where the library is: a job's processes get it written into the action. */
export const ARTIFACT_LIB = join(
  import.meta.dirname,
  "..",
  "..",
  "node_modules",
  "@actions",
  "artifact",
  "lib",
  "artifact.js",
);

/** A node action that uploads `dist/` as artifact `dist` with @actions/artifact. */
export const UPLOAD_MAIN = `import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
const { DefaultArtifactClient } = await import(pathToFileURL(${JSON.stringify(ARTIFACT_LIB)}).href);
const root = join(process.cwd(), "dist");
mkdirSync(join(root, "sub"), { recursive: true });
writeFileSync(join(root, "app.js"), "built on " + process.env.GITHUB_JOB + "\\n");
writeFileSync(join(root, "sub", "data.txt"), "data from " + process.env.GITHUB_JOB + "\\n");
const client = new DefaultArtifactClient();
const result = await client.uploadArtifact("dist", [join(root, "app.js"), join(root, "sub", "data.txt")], root);
console.log("uploaded dist: id " + result.id + ", digest " + (result.digest ? "yes" : "no"));
`;

/** A node action that lists the run's artifacts and downloads each, checking digests. */
export const DOWNLOAD_MAIN = `import { pathToFileURL } from "node:url";
const { DefaultArtifactClient } = await import(pathToFileURL(${JSON.stringify(ARTIFACT_LIB)}).href);
const client = new DefaultArtifactClient();
const { artifacts } = await client.listArtifacts();
console.log("listed " + artifacts.map((a) => a.name).sort().join(", "));
for (const artifact of artifacts.sort((a, b) => a.name.localeCompare(b.name))) {
  const result = await client.downloadArtifact(artifact.id, {
    path: "got/" + artifact.name,
    expectedHash: artifact.digest,
  });
  console.log("downloaded " + artifact.name + (result.digestMismatch ? ": digest mismatch" : ""));
}
`;

/** Where @actions/core is. */
export const CORE_LIB = join(
  import.meta.dirname,
  "..",
  "..",
  "node_modules",
  "@actions",
  "core",
  "lib",
  "core.js",
);

/**
 * A node action that gets an OIDC token for audience `sts.test` with @actions/core, as every
 * cloud login action does, and exchanges it at `$STS` (the test's stand-in for a cloud).
 */
export const OIDC_MAIN = `import { pathToFileURL } from "node:url";
const core = await import(pathToFileURL(${JSON.stringify(CORE_LIB)}).href);
const token = await core.getIDToken("sts.test");
const res = await fetch(process.env.STS + "/exchange", { method: "POST", body: token });
console.log("exchanged: " + res.status + " " + (await res.text()));
`;
