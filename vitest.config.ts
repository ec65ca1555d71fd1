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

/**
 * Integration tests need a database, a server, a container engine or the built CLI: the
 * suite under test/ and the tests of the I/O rooms that open a store. Everything else under
 * src/ is a unit test: pure logic, or I/O on temporary files and child processes only.
 */
const INTEGRATION = [
  "test/**/*.test.ts",
  "src/server/**/*.test.ts",
  "src/store/**/*.test.ts",
  "src/queue/**/*.test.ts",
  "src/secrets/secrets.test.ts",
];

export default defineConfig({
  plugins: [dropUpstreamSourceMaps()],
  test: {
    // The official parser imports its schema JSON without an import attribute, which plain
    // Node 20 refuses; inlining lets Vite transform it (the CLI bundle solves it with esbuild).
    server: { deps: { inline: ["@actions/workflow-parser", "@actions/expressions"] } },
    pool: "forks",
    // Three workers: the integration tests mostly wait on servers, agents and git, so a third
    // worker fills the idle cores (docs/benchmarks.md, "The test suite").
    maxWorkers: 3,
    // Generous: a timeout is a safety net for a hung test, not a speed check (speed is
    // measured in bench/). On two busy cores with three workers, a test that takes 15 s on a
    // quiet machine (installing a Node, a server with agents) can take over 30.
    testTimeout: 90_000,
    hookTimeout: 60_000,
    // `npm test` runs both; `npx vitest run --project unit` is the quick loop.
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["src/**/*.test.ts"], exclude: INTEGRATION },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: INTEGRATION,
          globalSetup: ["test/global-setup.ts"],
        },
      },
    ],
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      exclude: ["src/**/*.test.ts"],
      reporter: ["text-summary", "json-summary"],
      thresholds: { lines: 80 },
    },
  },
});
