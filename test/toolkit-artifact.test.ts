import { afterAll, describe, expect, test } from "vitest";
import { runCli } from "./helpers/capture.js";
import { tempRepo } from "./helpers/temp-repo.js";
import { DOWNLOAD_MAIN, UPLOAD_MAIN } from "./helpers/toolkit-actions.js";

// Unmodified actions built on the toolkit: node actions written here that use @actions/artifact
// from npm (what upload-artifact@v4, download-artifact@v4 and every action that uploads
// reports bundle) upload in one job and download in the next, through Trunkline's artifact
// service, beside the built-in upload and download actions, which share its store.

const repo = tempRepo(
  {
    ".github/workflows/ci.yml": [
      "on: push",
      "jobs:",
      "  build:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - uses: ./upload",
      "      - run: mkdir -p out && echo 'built-in report' > out/report.txt",
      "      - uses: actions/upload-artifact@v4",
      "        with: { name: report, path: out/report.txt }",
      "  deploy:",
      "    needs: build",
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - uses: ./download",
      "      - run: cat got/dist/app.js got/dist/sub/data.txt got/report/report.txt",
      "      - uses: actions/download-artifact@v4",
      "        with: { name: dist, path: builtin }",
      '      - run: echo "built-in download, $(cat builtin/sub/data.txt)"',
      "",
    ].join("\n"),
    "upload/action.yml": "name: up\nruns:\n  using: node20\n  main: main.mjs\n",
    "upload/main.mjs": UPLOAD_MAIN,
    "download/action.yml": "name: down\nruns:\n  using: node20\n  main: main.mjs\n",
    "download/main.mjs": DOWNLOAD_MAIN,
  },
  { git: true },
);
afterAll(() => repo.cleanup());

describe("@actions/artifact against Trunkline's artifact service", () => {
  test("a toolkit upload is downloaded by the toolkit and by the built-in action, and back", async () => {
    const result = await runCli(["--cwd", repo.dir, "run", "--json"]);
    const texts = result.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => (JSON.parse(l) as { text?: string }).text ?? "");
    expect(result.code, `${texts.join("\n")}\n${result.stderr}`).toBe(0);
    expect(
      texts.filter((t) => /^(uploaded|listed|downloaded|built on|data from|built-in)/.test(t)),
    ).toEqual([
      "uploaded dist: id 1, digest yes",
      "listed dist, report",
      "downloaded dist",
      "downloaded report",
      "built on build",
      "data from build",
      "built-in report",
      "built-in download, data from build",
    ]);
  });
});
