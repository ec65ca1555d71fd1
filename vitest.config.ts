import { readFile } from "node:fs/promises";
import { defineConfig, type Plugin } from "vitest/config";

/**
 * The parser packages ship source maps that point at sources they do not publish, and Vite
 * warns once per file when it inlines them. Loading them without their map comment keeps
 * the test output about our code.
 */
function dropUpstreamSourceMaps(): Plugin {
  return {
    name: "trunkline:drop-upstream-source-maps",
    enforce: "pre",
    async load(id) {
      if (!id.includes("/node_modules/@actions/") || !id.endsWith(".js")) return null;
      const code = await readFile(id, "utf8");
      return { code: code.replace(/\/\/# sourceMappingURL=.*$/m, ""), map: null };
    },
  };
}

export default defineConfig({
  plugins: [dropUpstreamSourceMaps()],
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    // The official parser imports its schema JSON without an import attribute, which plain
    // Node 20 refuses; inlining lets Vite transform it (the CLI bundle solves it with esbuild).
    server: { deps: { inline: ["@actions/workflow-parser", "@actions/expressions"] } },
    pool: "forks",
    testTimeout: 30_000,
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      exclude: ["src/**/*.test.ts"],
      reporter: ["text-summary", "json-summary"],
      thresholds: { lines: 80 },
    },
  },
});
