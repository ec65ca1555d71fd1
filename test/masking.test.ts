import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { runCli } from "./helpers/capture.js";
import { tempRepo } from "./helpers/temp-repo.js";

const SECRET = 's3cr3t-Value/with&<chars>"q';
const MULTI = "first-line-secret\nsecond-line-secret";
const WORKFLOW = `
name: leak everything
on: push
jobs:
  leak:
    runs-on: ubuntu-latest
    outputs:
      leaked: \${{ steps.o.outputs.value }}
    env:
      S: \${{ secrets.TOKEN }}
      M: \${{ secrets.MULTI }}
    steps:
      - name: print in every form
        run: |
          echo "plain: $S"
          node -e 'console.log("json: " + JSON.stringify(process.env.S))'
          node -e 'console.log("url: " + encodeURIComponent(process.env.S))'
          node -e 'console.log("html: " + process.env.S.replace(/&/g,"&amp;").replace(/</g,"&lt;").replace(/>/g,"&gt;").replace(/"/g,"&quot;"))'
          for prefix in "" "a" "ab"; do printf '%s%s' "$prefix" "$S" | base64 -w0; echo; done
          echo "multi: $M"
          echo "second line alone: second-line-secret"
          printf 'split: %s' "\${S:0:9}"; sleep 0.3; printf '%s\\n' "\${S:9}"
          echo "::error title=$S::annotation $S"
          echo "summary $S" >> "$GITHUB_STEP_SUMMARY"
          echo "one char: x"
      - id: o
        run: echo "value=$S" >> "$GITHUB_OUTPUT"
      - name: named \${{ secrets.TOKEN }}
        run: "true"
`;

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups) c();
});

function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? allFiles(p) : [p];
  });
}

describe("secrets are masked in every sink", () => {
  test("terminal, stored log, events, summary, annotations, outputs", async () => {
    const repo = tempRepo(
      {
        ".github/workflows/leak.yml": WORKFLOW,
        "secrets.env": `TOKEN="${SECRET.replace(/"/g, '\\"')}"\nMULTI="${MULTI.replace("\n", "\\n")}"\nONE=x\n`,
      },
      { git: true },
    );
    cleanups.push(repo.cleanup);
    const runDir = join(repo.dir, ".run");
    const result = await runCli([
      "run",
      "-C",
      repo.dir,
      "--secret-file",
      "secrets.env",
      "--run-dir",
      runDir,
    ]);
    expect(result.code, result.stdout).toBe(0);
    const forms = [
      SECRET,
      JSON.stringify(SECRET).slice(1, -1),
      encodeURIComponent(SECRET),
      SECRET.replace(/&/g, "&amp;")
        .replace(/</g, "&lt;")
        .replace(/>/g, "&gt;")
        .replace(/"/g, "&quot;"),
      Buffer.from(SECRET).toString("base64").slice(0, 20),
      Buffer.from(`a${SECRET}`).toString("base64").slice(4, 24),
      Buffer.from(`ab${SECRET}`).toString("base64").slice(4, 24),
      "first-line-secret",
      "second-line-secret",
    ];
    const sinks: [string, string][] = [["terminal", result.stdout + result.stderr]];
    for (const file of allFiles(runDir)) sinks.push([file, readFileSync(file, "utf8")]);
    expect(sinks.map(([name]) => name.replace(runDir, "")).sort()).toEqual(
      expect.arrayContaining([
        "/annotations.json",
        "/events.ndjson",
        "/outputs.json",
        "/logs/leak/leak.log",
        "/summaries/leak/leak.md",
      ]),
    );
    for (const [name, text] of sinks) {
      for (const form of forms) expect(text.includes(form), `${form} in ${name}`).toBe(false);
    }
    const log = readFileSync(join(runDir, "logs", "leak", "leak.log"), "utf8");
    expect(log).toContain("plain: ***");
    expect(log).toContain("split: ***");
    expect(log).toContain("second line alone: ***");
    expect(log).toContain("one char: x");
    expect(readFileSync(join(runDir, "summaries", "leak", "leak.md"), "utf8")).toBe(
      "summary ***\n\n",
    );
    expect(JSON.parse(readFileSync(join(runDir, "annotations.json"), "utf8"))[0]).toMatchObject({
      level: "error",
      title: "***",
      message: "annotation ***",
    });
    expect(JSON.parse(readFileSync(join(runDir, "outputs.json"), "utf8"))).toEqual({});
    expect(result.stdout).toContain("Skip output 'leaked' since it may contain secret.");
    expect(result.stdout).toContain("named ***");
  });
});

// Secrets printed in the properties of workflow commands, in the forms the masker knows.
const NUMBER = "987654321";
const PUNCTUATED = "tok,en:val";
/** Its command-escaped form ("sp ce%2Cc%3Aolon%25") is none of the masker's other forms. */
const SPACED = "sp ce,c:olon%";
const COMMANDS_WORKFLOW = `
name: leak through commands
on: push
jobs:
  cmds:
    runs-on: ubuntu-latest
    env:
      S: \${{ secrets.TOKEN }}
      N: \${{ secrets.NUMBER }}
    steps:
      - run: |
          B64=$(printf '%s' "$S" | base64 -w0)
          URL=$(node -e 'process.stdout.write(encodeURIComponent(process.env.S))')
          JSN=$(node -e 'process.stdout.write(JSON.stringify(process.env.S).slice(1, -1))')
          echo "::notice file=$S,line=1,title=t-$S::notice message"
          echo "::warning file=src/$S.ts,line=2,endLine=3,title=$B64::warning message"
          echo "::error file=$URL,line=$N,endLine=$N,col=$N,endColumn=$N::error message"
          echo "::notice file=$JSN,title=json::json message"
          echo "::notice file=tok%2Cen%3Aval,line=4::escaped message"
          echo "::notice fIlE=$S,LINE=5,Title=$S::case message"
          echo "##[warning file=$S;line=6]legacy message"
          echo "::notice file=x,custom=$S::unknown property"
          echo "::group title=$S::group $S"
          echo "::endgroup::"
          echo "::debug file=$S::debug $S"
          echo "::add-matcher owner=$S::$S"
          echo "::add-matcher owner=sp ce%2Cc%3Aolon%25::x"
          echo "::stop-commands::pause-8e1f"
          echo "::notice file=sp ce%2Cc%3Aolon%25,title=t::stopped sp ce,c:olon%25"
          echo "::pause-8e1f::"
`;

describe("secrets are masked in every property of every workflow command", () => {
  test("terminal, annotations.json and events.ndjson", async () => {
    const repo = tempRepo(
      {
        ".github/workflows/cmds.yml": COMMANDS_WORKFLOW,
        "secrets.env": `TOKEN="${SECRET.replace(/"/g, '\\"')}"\nNUMBER=${NUMBER}\nPUNCT="${PUNCTUATED}"\nSPACED="${SPACED}"\n`,
      },
      { git: true },
    );
    cleanups.push(repo.cleanup);
    const runDir = join(repo.dir, ".run");
    const result = await runCli([
      "run",
      "-C",
      repo.dir,
      "--secret-file",
      "secrets.env",
      "--var",
      "ACTIONS_STEP_DEBUG=true",
      "--run-dir",
      runDir,
    ]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const forms = [
      SECRET,
      JSON.stringify(SECRET).slice(1, -1),
      encodeURIComponent(SECRET),
      Buffer.from(SECRET).toString("base64").slice(0, 20),
      NUMBER,
      PUNCTUATED,
      encodeURIComponent(PUNCTUATED),
      SPACED,
      "sp ce%2Cc%3Aolon%25",
      "sp ce,c:olon%25",
    ];
    const sinks: [string, string][] = [
      ["terminal", result.stdout + result.stderr],
      ["annotations.json", readFileSync(join(runDir, "annotations.json"), "utf8")],
      ["events.ndjson", readFileSync(join(runDir, "events.ndjson"), "utf8")],
      ["log", readFileSync(join(runDir, "logs", "cmds", "cmds.log"), "utf8")],
    ];
    for (const [name, text] of sinks) {
      for (const form of forms) expect(text.includes(form), `${form} in ${name}`).toBe(false);
    }
    const annotations = JSON.parse(readFileSync(join(runDir, "annotations.json"), "utf8"));
    expect(
      annotations.map((a: Record<string, unknown>) => {
        const { job: _job, ...rest } = a;
        return rest;
      }),
    ).toEqual([
      { level: "notice", message: "notice message", title: "t-***", file: "***", line: 1 },
      {
        level: "warning",
        message: "warning message",
        title: "***",
        file: "src/***.ts",
        line: 2,
        endLine: 3,
      },
      // Lines and columns that were a secret are dropped, not shown.
      { level: "error", message: "error message", file: "***" },
      { level: "notice", message: "json message", title: "json", file: "***" },
      { level: "notice", message: "escaped message", file: "***", line: 4 },
      { level: "notice", message: "case message", title: "***", file: "***", line: 5 },
      { level: "warning", message: "legacy message", file: "***", line: 6 },
      { level: "notice", message: "unknown property", file: "x" },
    ]);
    const log = readFileSync(join(runDir, "logs", "cmds", "cmds.log"), "utf8");
    expect(log).toContain("debug ***");
    expect(log).toContain("::add-matcher owner=***::***");
    expect(log).toContain("::add-matcher owner=***::x");
    expect(log).toContain("::notice file=***,title=t::stopped ***");
  });
});
