import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { globSync } from "tinyglobby";

/**
 * GitHub's `hashFiles(...patterns)`: the files under `root` matching the patterns (`!` to
 * exclude), sorted by path; the SHA-256 of the concatenated SHA-256 digests of their
 * contents, in hex; the empty string when nothing matches. Synchronous, because expression
 * functions are.
 */
export function hashFiles(root: string, patterns: readonly unknown[]): string {
  const include: string[] = [];
  const ignore: string[] = [];
  for (const raw of patterns) {
    const p = String(raw ?? "").trim();
    if (p === "") continue;
    if (p.startsWith("!")) ignore.push(p.slice(1));
    else include.push(p);
  }
  if (include.length === 0) return "";
  const files = globSync(include, {
    cwd: root,
    ignore,
    dot: true,
    onlyFiles: true,
    followSymbolicLinks: false,
  })
    .filter((f) => !f.split("/").includes(".."))
    .sort();
  if (files.length === 0) return "";
  const total = createHash("sha256");
  for (const file of files) {
    const path = join(root, file);
    if (!statSync(path).isFile()) continue;
    total.update(createHash("sha256").update(readFileSync(path)).digest());
  }
  return total.digest("hex");
}
