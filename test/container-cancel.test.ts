import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, test, vi } from "vitest";
import { BUSYBOX_IMAGE, leftovers, SERVICE_IMAGE, testEngine } from "./helpers/container-engine.js";
import { tempRepo } from "./helpers/temp-repo.js";

const BIN = join(import.meta.dirname, "..", "dist", "trunkline.js");
const engine = await testEngine();
const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups) c();
});

/** Host pids of processes whose command line contains `marker` (a container's are visible here). */
function processesWith(marker: string): string[] {
  try {
    return execFileSync("pgrep", ["-f", marker], { encoding: "utf8" })
      .trim()
      .split("\n")
      .filter(Boolean);
  } catch {
    return [];
  }
}

describe.skipIf(!engine)("cancelling a job with containers", () => {
  test("SIGINT ends the step's tree in the job container and the Docker action's container, runs always() in the job container, then removes containers, network and volume", async () => {
    const marker = `${Math.floor(Math.random() * 1e6) + 1000}.7`;
    const volume = `trunkline-test-${marker.replace(".", "-")}`;
    const workflow = `
on: push
jobs:
  long:
    runs-on: ubuntu-latest
    container:
      image: ${BUSYBOX_IMAGE}
      volumes:
        - ${volume}:/data
    services:
      web:
        image: ${SERVICE_IMAGE}
        env:
          SERVICE_SCRIPT: exec httpd -f -p 80 -h /www
    steps:
      - run: |
          (sleep ${marker}; echo orphan) &
          echo started
          sleep ${marker}
      - if: always()
        run: |
          test "\${{ job.status }}" = cancelled
          if ps | grep -v grep | grep -q "sleep ${marker}"; then ps; exit 1; fi
          echo "always step ran in the container"
  action:
    runs-on: ubuntu-latest
    steps:
      - uses: docker://${BUSYBOX_IMAGE}
        with:
          args: sleep ${marker}1
`;
    const repo = tempRepo({ ".github/workflows/w.yml": workflow }, { git: true });
    cleanups.push(repo.cleanup);
    const child = spawn(
      process.execPath,
      [BIN, "run", "-C", repo.dir, "--run-dir", join(repo.dir, ".run")],
      { env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (b: Buffer) => {
      output += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      output += b.toString();
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => resolve(code)),
    );
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (output.includes("started")) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    // Two in the job container, one in the Docker action's container.
    await vi.waitFor(() => expect(processesWith(`sleep ${marker}`).length, output).toBe(3), {
      timeout: 15_000,
      interval: 20,
    });
    const docker = (engine as NonNullable<typeof engine>).docker;
    const pid = child.pid as number;
    expect((await leftovers(docker, pid)).length, output).toBeGreaterThan(0);
    child.kill("SIGINT");
    expect(await exited, output).toBe(130);
    expect(output).toContain("always step ran in the container");
    expect(processesWith(`sleep ${marker}`)).toEqual([]);
    expect(await leftovers(docker, pid)).toEqual([]);
    const volumes = (await docker.listVolumes()).Volumes ?? [];
    expect(volumes.map((v) => v.Name)).not.toContain(volume);
  }, 120_000);
});
