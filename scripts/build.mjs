// Bundles the CLI into dist/trunkline.js (the entry) and dist/chunks/ with esbuild: each
// command's code is a chunk loaded when the command runs, so a command starts without the
// others' code. Bundling inlines the official parser's schema JSON, which it imports without
// an import attribute (plain Node 20 refuses that import). The banner gives bundled
// CommonJS dependencies the `require` that ESM lacks; old chunks are removed first.
import { rmSync } from "node:fs";
import { build } from "esbuild";

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
  banner: {
    js: [
      "#!/usr/bin/env node",
      'import { createRequire as __trunklineCreateRequire } from "node:module";',
      "const require = __trunklineCreateRequire(import.meta.url);",
    ].join("\n"),
  },
});
