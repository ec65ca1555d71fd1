// Bundles the CLI into dist/trunkline.js (the entry) and dist/chunks/ with esbuild: each
// command's code is a chunk loaded when the command runs, so a command starts without the
// others' code. Bundling inlines the official parser's schema JSON, which it imports without
// an import attribute (plain Node 20 refuses that import). The banner gives bundled
// CommonJS dependencies the `require` that ESM lacks; old chunks are removed first.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

/** The build's identity: a hash of every source file, the locked dependencies and their patches. */
function buildId() {
  const hash = createHash("sha256");
  const add = (path) => hash.update(path).update("\0").update(readFileSync(path));
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) add(path);
    }
  };
  walk("src");
  add("package-lock.json");
  for (const patch of readdirSync("patches").sort()) add(join("patches", patch));
  return hash.digest("hex").slice(0, 16);
}

rmSync("dist", { recursive: true, force: true });

await build({
  entryPoints: { trunkline: "src/cli/bin.ts" },
  outdir: "dist",
  // Commands are imported when they run; their code goes in chunks of its own.
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  legalComments: "none",
  // Native and optional modules stay in node_modules: they cannot be bundled. dockerode
  // (with ssh2 and gRPC) is loaded only by jobs that need a container engine, from
  // node_modules, so it costs nothing to every other command's start.
  external: ["better-sqlite3", "pg-native", "dockerode"],
  logLevel: "warning",
  // Caches written by one build are never read by another (see src/cli/workflow-cache.ts).
  define: { __TRUNKLINE_BUILD__: JSON.stringify(buildId()) },
  banner: {
    js: [
      "#!/usr/bin/env node",
      'import { createRequire as __trunklineCreateRequire } from "node:module";',
      "const require = __trunklineCreateRequire(import.meta.url);",
    ].join("\n"),
  },
});
