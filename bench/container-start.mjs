// Container job start overhead: a job of one `run: 'true'` step run by a cold
// `trunkline run` on the host, in a job container, and as a docker:// step on the host,
// interleaved round by round. The difference to the host row is what a container costs a
// job: network, container create/start, `docker exec`, and removal. Needs a container engine
// (scripts/container-engine.sh starts Podman); the busybox image is made from Debian's
// busybox-static, as the tests do, since nothing can be pulled here.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { create as createTar } from "tar";
import { ensureBuilt, printTable, ROOT, race } from "./lib.mjs";

const IMAGE = "localhost/trunkline-test/busybox:1";
const rounds = Number(process.env.ROUNDS ?? 7);
ensureBuilt();

const docker = new Docker(
  process.env.DOCKER_HOST ? undefined : { socketPath: "/run/podman/podman.sock" },
);
try {
  await docker.ping();
} catch (err) {
  console.error(`no container engine answers (${err.message}); run scripts/container-engine.sh`);
  process.exit(1);
}

/** Imports busybox-static as IMAGE when the engine does not have it (as test/helpers does). */
async function ensureImage() {
  if (
    await docker
      .getImage(IMAGE)
      .inspect()
      .then(
        () => true,
        () => false,
      )
  )
    return;
  const root = mkdtempSync(join(tmpdir(), "bench-busybox-"));
  for (const d of ["bin", "tmp", "etc"]) mkdirSync(join(root, d));
  copyFileSync("/bin/busybox", join(root, "bin", "busybox"));
  for (const a of execFileSync("/bin/busybox", ["--list"], { encoding: "utf8" }).split("\n"))
    if (a && a !== "busybox") symlinkSync("busybox", join(root, "bin", a));
  writeFileSync(join(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  const stream = await docker.importImage(createTar({ cwd: root, portable: true }, ["."]), {
    changes: ["ENV PATH=/bin", 'CMD ["sh"]'],
  });
  let text = "";
  for await (const chunk of stream) text += chunk;
  const id = /sha256:[0-9a-f]{64}/.exec(text)?.[0];
  await docker.getImage(id).tag({ repo: IMAGE.split(":")[0], tag: "1" });
  rmSync(root, { recursive: true, force: true });
}
await ensureImage();

function repo(name, job) {
  const dir = mkdtempSync(join(tmpdir(), `trunkline-${name}-`));
  mkdirSync(join(dir, ".github", "workflows"), { recursive: true });
  writeFileSync(
    join(dir, ".github", "workflows", "w.yml"),
    `on: push\njobs:\n  one:\n    runs-on: ubuntu-latest\n${job}`,
  );
  writeFileSync(join(dir, ".gitignore"), ".run/\n");
  const git = (...args) =>
    execFileSync("git", ["-c", "user.email=b@example.com", "-c", "user.name=bench", ...args], {
      cwd: dir,
    });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", name);
  return dir;
}
const bin = join(ROOT, "dist", "trunkline.js");
const contender = (name, dir) => ({
  name,
  cmd: process.execPath,
  args: [bin, "run", "-C", dir, "--run-dir", join(dir, ".run")],
});
const results = race(
  [
    contender("host job, one `true` step", repo("host", "    steps:\n      - run: 'true'\n")),
    contender(
      "job container (busybox), one `true` step",
      repo("container", `    container: ${IMAGE}\n    steps:\n      - run: 'true'\n`),
    ),
    contender(
      "host job, one docker:// step running `true`",
      repo(
        "docker-step",
        `    steps:\n      - uses: docker://${IMAGE}\n        with:\n          args: "true"\n`,
      ),
    ),
  ],
  rounds,
);
printTable(
  `container start overhead, ${rounds} interleaved rounds (${new Date().toISOString().slice(0, 10)})`,
  results,
);
const base = results[0].medianMs;
for (const r of results.slice(1))
  console.log(`\n${r.name}: ${(r.medianMs - base).toFixed(0)} ms more than the host job (median)`);
