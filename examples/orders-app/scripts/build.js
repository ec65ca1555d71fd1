// Builds the deployable bundle: the sources and a version file, under dist/.
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist", { recursive: true });
cpSync("src", "dist/src", { recursive: true });
cpSync("package.json", "dist/package.json");
const version = {
  sha: process.env.GITHUB_SHA ?? "local",
  ref: process.env.GITHUB_REF_NAME ?? "local",
  builtAt: new Date().toISOString(),
};
writeFileSync("dist/version.json", `${JSON.stringify(version, null, 2)}\n`);
console.log(`built ${version.ref}@${version.sha.slice(0, 12)}`);
