import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { InputError } from "../src/common/errors.js";
import { ContainerExecutor } from "../src/executors/container/container-executor.js";
import { BUSYBOX_IMAGE, leftovers, testEngine } from "./helpers/container-engine.js";

const engine = await testEngine();
const root = () => mkdtempSync(join(tmpdir(), "trunkline-executor-"));
const quiet = { stdout: () => undefined, stderr: () => undefined };

describe.skipIf(!engine)("the container executor's contract", () => {
  const base = () => ({
    root: root(),
    job: "contract",
    engine: engine as NonNullable<typeof engine>,
  });

  test("a malformed spec fails prepare before anything is created; release is safe after it", async () => {
    const executor = new ContainerExecutor({
      ...base(),
      container: { image: BUSYBOX_IMAGE, options: "--pids-limit 5" },
    });
    const err = await executor.prepare().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/^container\.options: '--pids-limit' is not supported/);
    await executor.release();
    expect(await leftovers((engine as NonNullable<typeof engine>).docker)).toEqual([]);
  });

  test("release without prepare does nothing and resolves", async () => {
    await new ContainerExecutor({ ...base(), container: BUSYBOX_IMAGE }).release();
  });

  test("exec in the job container: exit codes, output, translated paths, an aborted signal", async () => {
    const executor = new ContainerExecutor({ ...base(), container: BUSYBOX_IMAGE });
    try {
      await executor.prepare();
      let out = "";
      const result = await executor.exec(
        {
          argv: ["sh", "-c", 'echo "$WHERE"; pwd; exit 7'],
          env: { WHERE: executor.paths.workspace, PATH: "/bin" },
          cwd: executor.paths.workspace,
        },
        { stdout: (c) => (out += c), stderr: () => undefined },
        new AbortController().signal,
      );
      expect(result).toEqual({ exitCode: 7, signal: null, aborted: false });
      expect(out).toBe("/__w/workspace/workspace\n/__w/workspace/workspace\n");
      const aborted = new AbortController();
      aborted.abort();
      expect(
        await executor.exec({ argv: ["true"], env: {}, cwd: "/" }, quiet, aborted.signal),
      ).toEqual({ exitCode: null, signal: null, aborted: true });
      expect(executor.defaultShell()).toBe("sh");
      expect(executor.baseEnv()).toMatchObject({ PATH: "/bin", HOME: "/github/home" });
    } finally {
      await executor.release();
    }
    expect(await leftovers((engine as NonNullable<typeof engine>).docker)).toEqual([]);
  });

  test("without container: steps run on the host, and the job context has no container", async () => {
    const executor = new ContainerExecutor(base());
    try {
      await executor.prepare();
      let out = "";
      await executor.exec(
        {
          argv: ["sh", "-c", "test -e /etc/os-release && echo host"],
          env: { PATH: "/usr/bin:/bin" },
          cwd: "/",
        },
        { stdout: (c) => (out += c), stderr: () => undefined },
        new AbortController().signal,
      );
      expect(out).toBe("host\n");
      expect(executor.jobContext()).toEqual({ services: {} });
      expect(executor.baseEnv()).toBeUndefined();
    } finally {
      await executor.release();
    }
  });
});
