// Bundles the CLI into dist/trunkline.js with esbuild. One ESM file starts fast, and
// bundling inlines the official parser's schema JSON, which it imports without an import
// attribute (plain Node 20 refuses that import). The banner gives bundled CommonJS
// dependencies the `require` that ESM lacks.
import { build } from "esbuild";

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
