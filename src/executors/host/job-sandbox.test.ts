import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, test, vi } from "vitest";
import { tempDirs } from "../../../test/helpers/temp-dirs.js";
import type { ExecOutput } from "../executor.js";
import { chooseJobSandbox, resolveJobUser } from "./choose-sandbox.js";
import { HostExecutor } from "./host-executor.js";
import { type JobSandbox, sandboxEnv } from "./job-sandbox.js";
import { checkApart, ensureOwnDir } from "./jobs-dir.js";
import { dropSpare, namespacesWork, spareHolder } from "./namespace-holder.js";

const { make: tempDir } = tempDirs("sandbox");

/** Whether a process has ended: gone, or a zombie its new parent has not reaped yet. */
function ended(pid: number | undefined): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") === true;
  } catch {
    return true;
  }
}
const isRoot = process.getuid?.() === 0;
const NOBODY: JobSandbox = { kind: "user", uid: 65534, gid: 65534, name: "nobody" };

function collect(): ExecOutput & { text: () => string } {
  let text = "";
  return {
    stdout: (c) => {
      text += c;
    },
    stderr: (c) => {
      text += c;
    },
    text: () => text,
  };
}

describe("the environment of a sandboxed job", () => {
  test("passes an allowlist of the runner's variables and nothing else", () => {
    const env = sandboxEnv(
      NOBODY,
      {
        PATH: "/usr/bin:/bin",
        LANG: "C.UTF-8",
        LC_ALL: "C",
        TZ: "UTC",
        TERM: "xterm",
        HTTPS_PROXY: "http://proxy:3128",
        HOME: "/root",
        USER: "root",
        TRUNKLINE_MASTER_KEY: "k",
        TRUNKLINE_WEBHOOK_SECRET: "w",
        TRUNKLINE_TOKEN: "t",
        AWS_SECRET_ACCESS_KEY: "a",
        DATABASE_URL: "postgres://u:p@h/db",
        SSH_AUTH_SOCK: "/tmp/ssh",
      },
      "/jobs/slot/home",
    );
    expect(env).toEqual({
      PATH: "/usr/bin:/bin",
      LANG: "C.UTF-8",
      LC_ALL: "C",
      TZ: "UTC",
      TERM: "xterm",
      HTTPS_PROXY: "http://proxy:3128",
      HOME: "/jobs/slot/home",
      USER: "nobody",
      LOGNAME: "nobody",
    });
  });

  test("has a PATH even when the runner has none", () => {
    expect(sandboxEnv(NOBODY, {}, "/h").PATH).toBe("/usr/local/bin:/usr/bin:/bin");
  });
});

describe("choosing the job user", () => {
  test("a runner that is not root runs jobs in namespaces where it can, else unisolated with a warning; --job-user refused", () => {
    const hide = [tempDir()];
    const choice = chooseJobSandbox({ flag: "--job-user", hide, uid: 1000 });
    if (namespacesWork(hide)) {
      expect(choice.sandbox).toMatchObject({ kind: "namespaces", hide });
      expect(choice.warning).toBeUndefined();
    } else {
      expect(choice.sandbox).toEqual({ kind: "none" });
      expect(choice.warning).toMatch(/can read every file it can/);
    }
    expect(() =>
      chooseJobSandbox({ flag: "--job-user", jobUser: "nobody", hide, uid: 1000 }),
    ).toThrow("--job-user: only a runner started as root can run jobs as another user");
  });

  test("as root: nobody by default; a name, a uid or uid:gid; root and unknown users refused", () => {
    expect(chooseJobSandbox({ flag: "--job-user", hide: [], uid: 0 }).sandbox).toMatchObject({
      kind: "user",
      uid: 65534,
    });
    expect(resolveJobUser("nobody", "--job-user")).toEqual({
      uid: 65534,
      gid: 65534,
      name: "nobody",
    });
    expect(resolveJobUser("65534", "--job-user")).toEqual({
      uid: 65534,
      gid: 65534,
      name: "nobody",
    });
    expect(resolveJobUser("4242:4343", "--job-user")).toEqual({
      uid: 4242,
      gid: 4343,
      name: "4242",
    });
    expect(() => resolveJobUser("root", "--job-user")).toThrow(
      "--job-user: 'root' is root (or in root's group): jobs must run as an unprivileged user",
    );
    expect(() => resolveJobUser("0:0", "--job-user")).toThrow(/is root/);
    expect(() => resolveJobUser("no-such-user-here", "--job-user")).toThrow(
      "--job-user: there is no user 'no-such-user-here' on this machine",
    );
    expect(() => resolveJobUser("4242", "--job-user")).toThrow(
      "--job-user: uid 4242 has no user here: give its group too (UID:GID)",
    );
  });
});

describe("the jobs directory", () => {
  test("must be apart from the data directory, neither inside it nor holding it", () => {
    expect(() => checkApart("/srv/data/runner", "/srv/data", "--jobs-dir")).toThrow(
      "--jobs-dir: jobs must not be able to reach /srv/data: put the jobs directory elsewhere",
    );
    expect(() => checkApart("/srv", "/srv/data", "--jobs-dir")).toThrow(/must not be able/);
    expect(() => checkApart("/srv/data", "/srv/data", "--jobs-dir")).toThrow(/must not be able/);
    expect(() => checkApart("/srv/data-jobs", "/srv/data", "--jobs-dir")).not.toThrow();
  });

  test.runIf(isRoot)("one another user made first is refused", () => {
    const dir = join(tempDir(), "jobs");
    ensureOwnDir(dir, 0o711, "the jobs directory");
    expect(statSync(dir).mode & 0o777).toBe(0o711);
    const theirs = join(tempDir(), "theirs");
    ensureOwnDir(theirs, 0o755, "the jobs directory");
    // As if another user had made it.
    chownSync(theirs, 65534, 65534);
    expect(() => ensureOwnDir(theirs, 0o711, "the jobs directory")).toThrow(
      `the jobs directory ${theirs} is not a directory of this user's (another user may have made it): choose another`,
    );
  });
});

describe.runIf(isRoot)("the host executor with a user sandbox (runner as root)", () => {
  test("runs steps as the job user, in a directory that is theirs, with a home of their own, seeing no process outside the job", async () => {
    const base = tempDir();
    chmodSync(base, 0o711);
    const root = join(base, "slot");
    // Another job's directory beside this one's, made as the job user.
    mkdirSync(join(base, "other"));
    chownSync(join(base, "other"), 65534, 65534);
    const executor = new HostExecutor({ root, reuse: true, sandbox: NOBODY });
    await executor.prepare();
    const env = executor.baseEnv() as Record<string, string>;
    expect(env.HOME).toBe(join(root, "home"));
    expect(statSync(root).mode & 0o777).toBe(0o700);
    // A step file the runner makes is the job user's by the time the step runs.
    writeFileSync(join(executor.paths.files, "set_output"), "");
    const out = collect();
    const result = await executor.exec(
      {
        argv: [
          "sh",
          "-c",
          `id -u; id -G; test -e /proc/${process.pid} || echo unseen; ls -A '${base}'; echo v >> "$1"; touch "$HOME/.rc" "$2/made"`,
          "sh",
          join(executor.paths.files, "set_output"),
          executor.paths.workspace,
        ],
        env,
        cwd: executor.paths.workspace,
      },
      out,
      new AbortController().signal,
    );
    // Not the runner's processes either (nor another job's: each job has its PID namespace),
    // nor other jobs' directories.
    expect(out.text()).toBe("65534\n65534\nunseen\nslot\n");
    expect(result.exitCode).toBe(0);
    await executor.release();
    // The next job on the slot finds no trace of this one's home.
    expect(readdirSync(join(root, "home"))).toEqual([]);
  });

  test("a reused directory's next job takes namespaces made while it was idle: fresh ones, holding its directory", async () => {
    const base = tempDir();
    chmodSync(base, 0o711);
    const root = join(base, "slot");
    const run = async (executor: HostExecutor, script: string) => {
      const out = collect();
      const env = executor.baseEnv() as Record<string, string>;
      const result = await executor.exec(
        { argv: ["sh", "-c", script], env, cwd: executor.paths.workspace },
        out,
        new AbortController().signal,
      );
      expect(result.exitCode, out.text()).toBe(0);
      return out.text();
    };
    const first = new HostExecutor({ root, reuse: true, sandbox: NOBODY });
    await first.prepare();
    // A process left behind, and a file in the job's home.
    await run(first, `(sleep 300 &) ; touch "$HOME/left"; echo one > '${first.paths.temp}/mine'`);
    const targetOf = (e: HostExecutor) =>
      e.jobProcess(["true"], root)?.find((a) => a.startsWith("--target="));
    const firstTarget = targetOf(first);
    await first.release();
    const spare = await spareHolder(root);
    expect(spare).toBeDefined();
    const second = new HostExecutor({ root, reuse: true, sandbox: NOBODY });
    await second.prepare();
    expect(targetOf(second)).toBe(`--target=${spare?.pid}`);
    expect(targetOf(second)).not.toBe(firstTarget);
    // Its own directory (what the runner wrote there now), none of the last job's processes.
    writeFileSync(join(second.paths.workspace, "fresh"), "");
    expect(
      await run(
        second,
        `ls -A; ls -A "$HOME"; ls -A '${second.paths.temp}'; ps -e -o args= | grep -c '[s]leep 300' || true`,
      ),
    ).toBe("fresh\n0\n");
    await second.release();

    // A directory removed and made again is another: what was made ahead for the old one is
    // not used, and ends.
    const stale = await spareHolder(root);
    rmSync(root, { recursive: true, force: true });
    const third = new HostExecutor({ root, reuse: true, sandbox: NOBODY });
    await third.prepare();
    expect(targetOf(third)).not.toBe(`--target=${stale?.pid}`);
    await vi.waitFor(() => expect(ended(stale?.pid)).toBe(true), { timeout: 10_000 });
    writeFileSync(join(third.paths.workspace, "new"), "");
    expect(await run(third, "ls -A")).toBe("new\n");
    await third.release();
    dropSpare(root);
  });

  test("a cancelled step ends in the sandbox, with the processes it started", async () => {
    const root = join(tempDir(), "slot");
    chmodSync(join(root, ".."), 0o711);
    const executor = new HostExecutor({ root, sandbox: NOBODY, graceMs: 200 });
    await executor.prepare();
    const cancel = new AbortController();
    const out = {
      stdout: (chunk: string) => {
        if (chunk.includes("started")) cancel.abort();
      },
      stderr: () => undefined,
    };
    const result = await executor.exec(
      {
        argv: ["sh", "-c", "sleep 300 & echo started; wait"],
        env: executor.baseEnv() as Record<string, string>,
        cwd: executor.paths.workspace,
      },
      out,
      cancel.signal,
    );
    expect(result.aborted).toBe(true);
    // Nothing of the step is left in the job's namespace.
    const left = collect();
    await executor.exec(
      {
        // Until it has ended (a signal's delivery is not instant), or for at most 5 s.
        argv: [
          "sh",
          "-c",
          "for i in $(seq 50); do pgrep -f 'slee[p] 300' > /dev/null || { echo none; exit; }; sleep 0.1; done; echo left",
        ],
        env: executor.baseEnv() as Record<string, string>,
        cwd: executor.paths.workspace,
      },
      left,
      new AbortController().signal,
    );
    expect(left.text()).toBe("none\n");
    await executor.release();
  });

  test("files the runner writes (a built-in action) become the job user's when handed over", async () => {
    const root = join(tempDir(), "slot");
    chmodSync(join(root, ".."), 0o711);
    const executor = new HostExecutor({ root, sandbox: NOBODY });
    await executor.prepare();
    writeFileSync(join(executor.paths.workspace, "checked-out"), "x");
    expect(statSync(join(executor.paths.workspace, "checked-out")).uid).toBe(0);
    executor.handOver();
    expect(statSync(join(executor.paths.workspace, "checked-out")).uid).toBe(65534);
    await executor.release();
  });
});

describe.runIf(namespacesWork([]))("the host executor with a namespaces sandbox", () => {
  test("a job sees hidden directories empty and no process outside; its processes outlive their step and end with the job", async () => {
    const base = tempDir();
    const hidden = join(base, "data");
    mkdirSync(hidden);
    writeFileSync(join(hidden, "master.key"), "secret");
    const root = join(base, "jobs", "slot");
    // Another job's directory beside this one's.
    mkdirSync(join(base, "jobs", "other"), { recursive: true });
    writeFileSync(join(base, "jobs", "other", "their-file"), "theirs");
    const executor = new HostExecutor({
      root,
      sandbox: { kind: "namespaces", hide: [hidden], name: "runner" },
    });
    await executor.prepare();
    const env = executor.baseEnv() as Record<string, string>;
    const run = async (script: string) => {
      const out = collect();
      const result = await executor.exec(
        { argv: ["sh", "-c", script], env, cwd: executor.paths.workspace },
        out,
        new AbortController().signal,
      );
      return { code: result.exitCode, text: out.text() };
    };
    expect(await run(`ls -A '${hidden}'; umount '${hidden}' 2>/dev/null || echo kept`)).toEqual({
      code: 0,
      text: "kept\n",
    });
    expect((await run(`test -e /proc/${process.pid} || echo unseen`)).text).toBe("unseen\n");
    expect((await run(`ls -A '${join(base, "jobs")}'`)).text).toBe("slot\n");
    // A server a step leaves running is there for the next step.
    await run("sleep 300 > /dev/null 2>&1 &");
    expect((await run("pgrep -f 'slee[p] 300' > /dev/null && echo running")).text).toBe(
      "running\n",
    );
    const joined = executor.jobProcess(["true"], "/")?.join(" ") ?? "";
    const first = Number(/--target=(\d+)/.exec(joined)?.[1]);
    expect(existsSync(`/proc/${first}`)).toBe(true);
    await executor.release();
    // The namespaces' first process ends with the job, and with it every process in them.
    await vi.waitFor(() => expect(ended(first)).toBe(true), { timeout: 10_000 });
  });
});
