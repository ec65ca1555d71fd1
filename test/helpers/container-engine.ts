import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { create as createTar } from "tar";
import { type ContainerEngine, findEngine } from "../../src/executors/container/engine.js";
import { buildImage } from "../../src/executors/container/images.js";
import { OWNER_LABEL } from "../../src/executors/container/labels.js";
import { missing } from "./components.js";

/**
 * A service image for the tests: it prints `service starting`, then runs the shell script in
 * its `SERVICE_SCRIPT` variable (so a fixture says what its service does); /www holds a page.
 */
export const SERVICE_IMAGE = "localhost/trunkline-test/service:1";

/**
 * A glibc image for the tests: the busybox one plus bash, GNU tar (what @actions/cache
 * archives with) and the shared libraries they and this machine's Node need (copied from the
 * host), with Debian's PATH. Node itself is not in it: job containers get the runner's Node
 * mounted, as on GitHub.
 */
export const GLIBC_IMAGE = "localhost/trunkline-test/glibc:2";

/** The tests' own base image: busybox (sh, nc, httpd, wget) from Debian's busybox-static; nothing is pulled. */
export const BUSYBOX_IMAGE = "localhost/trunkline-test/busybox:1";

const BUSYBOX = "/bin/busybox";

let engine: Promise<ContainerEngine | undefined> | undefined;

/**
 * The engine the container tests use, with the test image in it; undefined (and a message
 * saying how to enable the tests) when no engine answers or busybox-static is missing.
 */
export function testEngine(): Promise<ContainerEngine | undefined> {
  engine ??= (async () => {
    let found: ContainerEngine;
    try {
      found = await findEngine();
    } catch (err) {
      return (
        missing(
          "containers",
          `${(err as Error).message}. On Debian, scripts/container-engine.sh installs and starts Podman (as root), as .ci/run does.`,
        ) || undefined
      );
    }
    if (!existsSync(BUSYBOX)) {
      return (
        missing(
          "containers",
          "/bin/busybox is missing (apt-get install busybox-static); the tests build their image from it.",
        ) || undefined
      );
    }
    await ensureBusyboxImage(found.docker);
    await ensureServiceImage(found.docker);
    await ensureGlibcImage(found.docker);
    return found;
  })();
  return engine;
}

/** Imports a root filesystem of busybox and its applets as {@link BUSYBOX_IMAGE}, once. */
async function ensureBusyboxImage(docker: Docker): Promise<void> {
  const present = await docker
    .getImage(BUSYBOX_IMAGE)
    .inspect()
    .then(
      () => true,
      () => false,
    );
  if (present) return;
  const root = mkdtempSync(join(tmpdir(), "trunkline-busybox-"));
  try {
    for (const d of ["bin", "tmp", "etc", "root"]) mkdirSync(join(root, d));
    copyFileSync(BUSYBOX, join(root, "bin", "busybox"));
    const applets = execFileSync(BUSYBOX, ["--list"], { encoding: "utf8" }).split("\n");
    for (const a of applets) if (a && a !== "busybox") symlinkSync("busybox", join(root, "bin", a));
    writeFileSync(join(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    writeFileSync(join(root, "etc", "group"), "root:x:0:\n");
    const tar = createTar({ cwd: root, portable: true }, ["."]);
    const stream = await docker.importImage(
      tar as unknown as NodeJS.ReadableStream,
      {
        changes: ["ENV PATH=/bin", 'CMD ["sh"]'],
      } as unknown as string,
    );
    const id = await new Promise<string>((resolve, reject) => {
      let text = "";
      stream.on("data", (b: Buffer) => {
        text += b.toString();
      });
      stream.on("error", reject);
      stream.on("end", () => {
        const m = /sha256:[0-9a-f]{64}/.exec(text);
        if (m) resolve(m[0]);
        else reject(new Error(`image import said: ${text}`));
      });
    });
    const [repo, tag] = BUSYBOX_IMAGE.split(/:(?=[^:]+$)/) as [string, string];
    await docker.getImage(id).tag({ repo, tag });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** The shared libraries `binary` loads, as `ldd` resolves them on this machine. */
function sharedLibraries(binary: string): string[] {
  return execFileSync("ldd", [binary], { encoding: "utf8" })
    .split("\n")
    .map((l) => /(\/\S+) \(0x/.exec(l)?.[1])
    .filter((p): p is string => p !== undefined);
}

/** Builds {@link GLIBC_IMAGE} from the busybox image and the host's bash and libraries, once. */
async function ensureGlibcImage(docker: Docker): Promise<void> {
  const present = await docker
    .getImage(GLIBC_IMAGE)
    .inspect()
    .then(
      () => true,
      () => false,
    );
  if (present) return;
  const dir = mkdtempSync(join(tmpdir(), "trunkline-glibc-image-"));
  try {
    const files = [
      "/bin/bash",
      "/usr/bin/tar",
      ...new Set([
        ...sharedLibraries("/bin/bash"),
        ...sharedLibraries("/usr/bin/tar"),
        ...sharedLibraries(process.execPath),
      ]),
    ];
    const lines = [`FROM ${BUSYBOX_IMAGE}`];
    files.forEach((file, i) => {
      copyFileSync(file, join(dir, `f${i}`));
      lines.push(`COPY f${i} ${file}`);
    });
    lines.push("ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "");
    writeFileSync(join(dir, "Dockerfile"), lines.join("\n"));
    await buildImage(docker, dir, join(dir, "Dockerfile"), GLIBC_IMAGE, () => undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Builds {@link SERVICE_IMAGE} from the busybox image with Trunkline's own image builder, once. */
async function ensureServiceImage(docker: Docker): Promise<void> {
  const present = await docker
    .getImage(SERVICE_IMAGE)
    .inspect()
    .then(
      () => true,
      () => false,
    );
  if (present) return;
  const dir = mkdtempSync(join(tmpdir(), "trunkline-service-image-"));
  try {
    writeFileSync(
      join(dir, "Dockerfile"),
      [
        `FROM ${BUSYBOX_IMAGE}`,
        "RUN mkdir -p /www && echo hello-from-service > /www/index.html",
        'CMD ["sh", "-c", "echo service starting; eval $SERVICE_SCRIPT"]',
        "",
      ].join("\n"),
    );
    await buildImage(docker, dir, join(dir, "Dockerfile"), SERVICE_IMAGE, () => undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The test registries `scripts/container-engine.sh` starts: open, and behind a login. */
export const REGISTRY = "127.0.0.1:5000";
export const PRIVATE_REGISTRY = "127.0.0.1:5001";
export const PRIVATE_LOGIN = { username: "trunkline", password: "registry-pass-1" };
/** An image that exists only in the private registry, never in the engine, when a test starts. */
export const PRIVATE_IMAGE = `${PRIVATE_REGISTRY}/trunkline-test/private:1`;

/**
 * Whether both test registries answer; if so, pushes {@link PRIVATE_IMAGE} there (with the
 * login) and removes it from the engine, so a job must pull it with credentials. Says how to
 * enable the registry tests when they cannot run.
 */
export async function prepareRegistries(docker: Docker): Promise<boolean> {
  const answers = async (registry: string) =>
    fetch(`http://${registry}/v2/`, { signal: AbortSignal.timeout(2000) }).then(
      () => true,
      () => false,
    );
  if (!(await answers(REGISTRY)) || !(await answers(PRIVATE_REGISTRY))) {
    console.warn(
      `Registry tests skipped: no registry at ${REGISTRY} and ${PRIVATE_REGISTRY}. scripts/container-engine.sh starts them (as root), as .ci/run does.`,
    );
    return false;
  }
  const [repo, tag] = PRIVATE_IMAGE.split(/:(?=[^:]+$)/) as [string, string];
  await docker.getImage(BUSYBOX_IMAGE).tag({ repo, tag });
  const stream = await docker.getImage(PRIVATE_IMAGE).push({
    authconfig: { ...PRIVATE_LOGIN, serveraddress: PRIVATE_REGISTRY },
  });
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())),
  );
  await docker.getImage(PRIVATE_IMAGE).remove();
  return true;
}

/**
 * Removes the images the registry fixtures pulled into the engine (Trunkline keeps pulled
 * images, as an engine's cache; the tests should not pile them up).
 */
export async function removePulledTestImages(docker: Docker): Promise<void> {
  for (const image of await docker.listImages()) {
    const tags = (image.RepoTags ?? []).filter(
      (t) => t.startsWith(`${REGISTRY}/trunkline-test/`) || t.startsWith(`${PRIVATE_REGISTRY}/`),
    );
    for (const tag of tags)
      await docker
        .getImage(tag)
        .remove()
        .catch(() => undefined);
  }
}

/**
 * Containers, networks and volumes that the Trunkline process `pid` (default: this one)
 * created and left in the engine. Filtered by owner, so test files running side by side do
 * not see each other's jobs.
 */
export async function leftovers(docker: Docker, pid = process.pid): Promise<string[]> {
  const filters = JSON.stringify({ label: [`${OWNER_LABEL}=${hostname()}:${pid}`] });
  const containers = await docker.listContainers({ all: true, filters });
  const networks = await docker.listNetworks({ filters });
  const volumes = (await docker.listVolumes({ filters })).Volumes ?? [];
  return [
    ...containers.map((c) => `container ${c.Names?.[0] ?? c.Id}`),
    ...networks.map((n) => `network ${n.Name}`),
    ...volumes.map((v) => `volume ${v.Name}`),
  ];
}
