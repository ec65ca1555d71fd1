import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { tempRepo } from "./helpers/temp-repo.js";

const BIN = join(import.meta.dirname, "..", "dist", "trunkline.js");
const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups) c();
});

test("without an engine, jobs that need one fail at once saying where Trunkline looked; plain jobs run on the host", () => {
  const workflow = `
on: push
jobs:
  in-container:
    runs-on: ubuntu-latest
    container: busybox
    steps:
      - run: touch "$MARKER_DIR/container-step-ran"
  with-docker-action:
    runs-on: ubuntu-latest
    steps:
      - uses: docker://busybox
  plain:
    runs-on: ubuntu-latest
    steps:
      - run: echo "plain job ran"
`;
  const repo = tempRepo({ ".github/workflows/w.yml": workflow }, { git: true });
  cleanups.push(repo.cleanup);
  const r = spawnSync(
    process.execPath,
    [BIN, "run", "-C", repo.dir, "--run-dir", join(repo.dir, ".run"), "--json"],
    {
      encoding: "utf8",
      env: { ...process.env, DOCKER_HOST: "unix:///nonexistent/docker.sock", NO_COLOR: "1" },
    },
  );
  const finished = r.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { type: string; job: string; status: string; reason?: string })
    .filter((e) => e.type === "job.finished");
  const byJob = Object.fromEntries(finished.map((e) => [e.job.replace(/^.* \/ /, ""), e]));
  expect(r.status, r.stdout + r.stderr).toBe(1);
  expect(byJob.plain?.status).toBe("success");
  expect(byJob["in-container"]).toMatchObject({
    status: "failure",
    reason:
      "this job needs a job container (container:): no container engine answers; tried DOCKER_HOST=unix:///nonexistent/docker.sock (no such socket). Start Docker, or Podman's API service (podman system service --time=0 unix:///run/podman/podman.sock &), or set DOCKER_HOST to the engine's socket (unix:///path/to/socket or tcp://host:port)",
  });
  expect(byJob["with-docker-action"]?.reason).toMatch(
    /^this job needs Docker actions \(docker:\/\/busybox\): no container engine answers; tried DOCKER_HOST=unix:\/\/\/nonexistent\/docker\.sock/,
  );
});
