import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { expect } from "vitest";
import { runCli } from "./capture.js";
import { tempRepo } from "./temp-repo.js";

/**
 * A self-checking workflow: it asserts its own results in shell (`test ... = ...`), and says
 * in its header what the run must end with:
 *   # expect: success | failure | cancelled   (how the run ends: exit code 0, 1 or 130)
 *   # failed: job-a; test (linux, 20)      (exactly these jobs end failed; default none)
 *   # args: --secret-file secrets.env (extra flags for `trunkline run`)
 *   # file: secrets.env: TOKEN=abc    (a file in the repository, before the run)
 *   # cancelled: a; b (x)             (exactly these jobs end cancelled)
 *   # log: text                       (the run's log must contain this text)
 *   # reason: job: text               (that job ended with a reason containing this text)
 * and a folder `<name>.files/`, when there is one, is copied into the repository first.
 */
export interface Fixture {
  readonly dir: string;
  readonly name: string;
  readonly content: string;
  readonly expect: "success" | "failure" | "cancelled";
  /** Jobs (keys) that must end failed. */
  readonly failed: string[];
  readonly args: string[];
  readonly files: Record<string, string>;
  /** Jobs that must end cancelled (`# cancelled: a, b (x)`). */
  readonly cancelled: string[];
  /** Texts the run's log must contain. */
  readonly logs: string[];
  /** `[job, text]`: the job (its key's last part) must end with a reason containing the text. */
  readonly reasons: [string, string][];
}

/** Reads every `*.yml` fixture of `dir`, sorted by name. */
export function readFixtures(dir: string): Fixture[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yml"))
    .sort()
    .map((name) => readFixture(dir, name));
}

function readFixture(dir: string, name: string): Fixture {
  const content = readFileSync(join(dir, name), "utf8");
  const header = (key: string) =>
    content
      .split("\n")
      .filter((l) => l.startsWith(`# ${key}:`))
      .map((l) => l.slice(key.length + 3).trim());
  const [expectLine] = header("expect");
  if (!expectLine) throw new Error(`${name}: no '# expect:' line`);

  const files: Record<string, string> = {};
  for (const f of header("file")) {
    const colon = f.indexOf(": ");
    files[f.slice(0, colon)] = `${f.slice(colon + 2).replaceAll("\\n", "\n")}\n`;
  }
  const list = (key: string) =>
    header(key)
      .flatMap((c) => c.split(/\s*;\s*/))
      .sort();
  return {
    dir,
    name,
    content,
    expect: expectLine as Fixture["expect"],
    failed: list("failed"),
    args: header("args").flatMap((a) => a.split(/\s+/)),
    files,
    cancelled: list("cancelled"),
    logs: header("log"),
    reasons: header("reason").map((r) => {
      const colon = r.indexOf(": ");
      return [r.slice(0, colon), r.slice(colon + 2)] as [string, string];
    }),
  };
}

/** Every file under `dir`, keyed by its path relative to `dir`. */
function filesUnder(dir: string, root = dir): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) Object.assign(out, filesUnder(path, root));
    else out[relative(root, path)] = readFileSync(path, "utf8");
  }
  return out;
}

interface JobFinished {
  type: "job.finished";
  job: string;
  status: string;
  reason?: string;
}

/**
 * Runs a fixture with `trunkline run --json` in a fresh repository and checks what its
 * header promises. Returns the repository's cleanup.
 */
export async function checkFixture(fixture: Fixture): Promise<() => void> {
  const extra = join(fixture.dir, fixture.name.replace(/\.yml$/, ".files"));
  const repo = tempRepo(
    {
      ".github/workflows/test.yml": fixture.content,
      ...fixture.files,
      ...(existsSync(extra) ? filesUnder(extra) : {}),
    },
    { git: true },
  );
  const result = await runCli([
    "run",
    "-C",
    repo.dir,
    "--json",
    "--run-dir",
    join(repo.dir, ".run"),
    ...fixture.args,
  ]);
  const events = result.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { type: string });
  const finished = events.filter((e): e is JobFinished => e.type === "job.finished");
  const logs = events
    .filter((e) => e.type === "log" || e.type === "step.finished")
    .map((e) => {
      const x = e as unknown as {
        type: string;
        job: string;
        text?: string;
        name?: string;
        outcome?: string;
      };
      return x.type === "log" ? x.text : `[${x.job}] ${x.name}: ${x.outcome}`;
    })
    .join("\n");
  const failed = finished
    .filter((e) => e.status === "failure")
    .map((e) => e.job.replace(/^.* \/ /, ""));
  const context = `stderr:\n${result.stderr}\nlogs:\n${logs}\njobs: ${JSON.stringify(finished.map((f) => [f.job, f.status, f.reason]))}`;
  const cancelled = finished
    .filter((e) => e.status === "cancelled")
    .map((e) => e.job.replace(/^.* \/ /, ""));
  expect([...new Set(cancelled)].sort(), context).toEqual(fixture.cancelled);
  expect([...new Set(failed)].sort(), context).toEqual(fixture.failed);
  expect(result.code, context).toBe({ success: 0, failure: 1, cancelled: 130 }[fixture.expect]);
  for (const text of fixture.logs) expect(logs, context).toContain(text);
  for (const [job, text] of fixture.reasons) {
    const reasons = finished
      .filter((e) => e.job.replace(/^.* \/ /, "") === job)
      .map((e) => e.reason ?? "");
    expect(reasons.join("\n"), context).toContain(text);
  }
  return repo.cleanup;
}
