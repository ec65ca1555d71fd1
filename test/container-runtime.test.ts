import type { ChildProcess } from "node:child_process";
import { createServer } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { join } from "node:path";
import { buildSync } from "esbuild";
import { afterAll, describe, expect, test } from "vitest";
import { HostForwards } from "../src/executors/container/host-forwards.js";
import { startAgent } from "./helpers/agent-process.js";
import { jsonTexts, runCli } from "./helpers/capture.js";
import { BUSYBOX_IMAGE, GLIBC_IMAGE, leftovers, testEngine } from "./helpers/container-engine.js";
import { committed, git } from "./helpers/git.js";
import { finishedRun, serverApi } from "./helpers/server-api.js";
import { startServerProcess } from "./helpers/server-process.js";
import { tempDirs } from "./helpers/temp-dirs.js";
import { tempRepo } from "./helpers/temp-repo.js";

// GitHub's runtime services from jobs in containers: a node action bundled with the toolkit,
// as real actions ship (@actions/artifact, @actions/cache, @actions/core), runs in a job
// container, and a Docker action runs beside it, while the services listen on this machine's
// loopback (a local run's, or a server's on 127.0.0.1). Both reach them through the job
// network's gateway.

const engine = await testEngine();

/** One node action, `with: { do: upload | download | cache | oidc }`, bundled as actions are. */
const TOOLKIT_MAIN = `import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DefaultArtifactClient } from "@actions/artifact";
import * as cache from "@actions/cache";
import * as core from "@actions/core";
const what = core.getInput("do");
const runtime = process.env.ACTIONS_RESULTS_URL ?? "";
if (/\\/\\/(127\\.|localhost)/.test(runtime)) throw new Error("a loopback URL in a container: " + runtime);
if (what === "upload") {
  mkdirSync("dist", { recursive: true });
  writeFileSync("dist/app.js", "built in a container by " + process.env.GITHUB_JOB + "\\n");
  const result = await new DefaultArtifactClient().uploadArtifact("dist", [join(process.cwd(), "dist", "app.js")], join(process.cwd(), "dist"));
  console.log("uploaded dist: id " + result.id);
} else if (what === "download") {
  const client = new DefaultArtifactClient();
  const { artifact } = await client.getArtifact("dist");
  await client.downloadArtifact(artifact.id, { path: "got", expectedHash: artifact.digest });
  console.log("downloaded: " + readFileSync("got/app.js", "utf8").trim());
} else if (what === "cache") {
  const key = core.getInput("key");
  mkdirSync("cached", { recursive: true });
  const hit = await cache.restoreCache(["cached"], key);
  console.log("restored " + (hit ?? "nothing") + ": " + (existsSync("cached/data.txt") ? readFileSync("cached/data.txt", "utf8").trim() : "-"));
  if (!hit) {
    writeFileSync("cached/data.txt", "saved by " + process.env.GITHUB_JOB + "\\n");
    console.log("saved " + ((await cache.saveCache(["cached"], key)) > 0 ? "yes" : "no"));
  }
} else if (what === "oidc") {
  const token = await core.getIDToken("sts.test");
  const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
  console.log("oidc token for " + claims.aud + ": " + claims.sub);
}
`;

/** The action's files: its manifest and the bundle. */
function toolkitAction(): Record<string, string> {
  const bundle = buildSync({
    stdin: { contents: TOOLKIT_MAIN, resolveDir: join(import.meta.dirname, ".."), loader: "js" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    write: false,
    logLevel: "error",
    // The toolkit's CommonJS parts require Node's modules.
    banner: {
      js: 'import { createRequire as __req } from "node:module"; const require = __req(import.meta.url);',
    },
  });
  return {
    "toolkit/action.yml": [
      "name: toolkit",
      "inputs:",
      "  do: { required: true }",
      "  key: { required: false }",
      "runs:",
      "  using: node20",
      "  main: main.mjs",
      "",
    ].join("\n"),
    "toolkit/main.mjs": bundle.outputFiles[0]?.text ?? "",
    // A Docker action's script: asks the cache service for an entry with the job's token
    // (204 when there is none, a failure when the service cannot be reached or refuses).
    "probe.sh": [
      'case "$ACTIONS_CACHE_URL" in http://127.*|http://localhost*) echo "loopback: $ACTIONS_CACHE_URL"; exit 1;; esac',
      'status=$(wget -S -O /dev/null --header "Authorization: Bearer $ACTIONS_RUNTIME_TOKEN" "${ACTIONS_CACHE_URL}_apis/artifactcache/cache?keys=none&version=1" 2>&1 | grep -o "HTTP/1.1 [0-9]*")',
      'echo "docker action reached the cache service: $status"',
      "",
    ].join("\n"),
  };
}

/** The workflow: build and deploy in job containers; `checkout` on the server. */
function workflow(runsOn: string, checkout: boolean): string {
  const steps = (lines: string[]) => [
    `    container: ${GLIBC_IMAGE}`,
    "    steps:",
    ...(checkout ? ["      - uses: actions/checkout@v4"] : []),
    ...lines,
  ];
  return [
    "on: push",
    "permissions: { id-token: write, contents: read }",
    "jobs:",
    "  build:",
    `    runs-on: ${runsOn}`,
    ...steps([
      "      - uses: ./toolkit",
      "        with: { do: upload }",
      "      - uses: ./toolkit",
      "        with: { do: cache, key: deps-container }",
      "      - uses: ./toolkit",
      "        with: { do: oidc }",
      `      - uses: docker://${BUSYBOX_IMAGE}`,
      "        with: { entrypoint: sh, args: probe.sh }",
      "      - run: test -z \"$ACTIONS_RUNTIME_TOKEN\" && echo 'run steps see no runtime token'",
    ]),
    "  deploy:",
    "    needs: build",
    `    runs-on: ${runsOn}`,
    ...steps([
      "      - uses: ./toolkit",
      "        with: { do: download }",
      "      - uses: ./toolkit",
      "        with: { do: cache, key: deps-container }",
    ]),
    "",
  ].join("\n");
}

const WANTED = /^(uploaded|downloaded|restored|saved|oidc token|docker action|run steps)/;

describe.skipIf(!engine)("runtime services from jobs in containers", () => {
  const children: ChildProcess[] = [];
  const temp = tempDirs("container-runtime");
  const files = engine ? toolkitAction() : {};
  afterAll(() => {
    for (const c of children) c.kill("SIGKILL");
  });

  test("a local run: artifacts, caches and OIDC through the job network's gateway", async () => {
    const repo = tempRepo(
      { ".github/workflows/ci.yml": workflow("ubuntu-latest", false), ...files },
      { git: true },
    );
    temp.keep(repo.dir);
    const result = await runCli(["--cwd", repo.dir, "run", "--json"]);
    const texts = jsonTexts(result);
    expect(result.code, `${texts.join("\n")}\n${result.stderr}`).toBe(0);
    expect(texts.filter((t) => WANTED.test(t))).toEqual([
      "uploaded dist: id 1",
      "restored nothing: -",
      "saved yes",
      expect.stringMatching(/^oidc token for sts\.test: repo:[^:]+:ref:refs\/heads\/main$/),
      "docker action reached the cache service: HTTP/1.1 204",
      "run steps see no runtime token",
      "downloaded: built in a container by build",
      "restored deps-container: saved by build",
    ]);
    expect(await leftovers((engine as NonNullable<typeof engine>).docker)).toEqual([]);
  }, 120_000);

  test.each([
    ["on an agent", true],
    ["on the embedded runner", false],
  ])(
    "a server on loopback: the same from containers %s",
    async (_, agent) => {
      const server = await startServerProcess({
        dataDir: temp.make(),
        extraArgs: agent ? ["--runner-capacity", "0"] : ["--jobs-dir", temp.make()],
      });
      children.push(server.child);
      if (agent) children.push(await startAgent(server, "boxed", temp.make()));
      const api = serverApi(() => server);
      await api("POST", "/api/v1/repositories", { name: "app" });
      const { dir: work } = await committed(
        {
          ".github/workflows/ci.yml": workflow(agent ? "boxed" : "ubuntu-latest", true),
          ...files,
        },
        "ci",
      );
      temp.keep(work);
      await git(work, "push", "-q", server.gitUrl("app"), "main");
      const run = await finishedRun(api, "app");
      expect(run.status, JSON.stringify(run.logs, null, 2)).toBe("success");
      expect(run.logs.build?.filter((l) => WANTED.test(l))).toEqual([
        "uploaded dist: id 1",
        "restored nothing: -",
        "saved yes",
        expect.stringMatching(/^oidc token for sts\.test: repo:[^:]*app:ref:refs\/heads\/main$/),
        "docker action reached the cache service: HTTP/1.1 204",
        "run steps see no runtime token",
      ]);
      expect(run.logs.deploy?.filter((l) => WANTED.test(l))).toEqual([
        "downloaded: built in a container by build",
        "restored deps-container: saved by build",
      ]);
    },
    120_000,
  );

  test("a forward serves its job network only: a connection from elsewhere is closed", async () => {
    const docker = (engine as NonNullable<typeof engine>).docker;
    const service = createServer((_, res) => res.end("reached"));
    await new Promise<void>((resolve) => service.listen(0, "127.0.0.1", resolve));
    const origin = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
    const network = `trunkline_forward_test_${process.pid}`;
    await docker.createNetwork({ Name: network });
    const forwards = await HostForwards.open(docker, network, [
      `${origin}/some/path`,
      "https://ci.example.com/",
    ]);
    try {
      const reached = new URL(forwards.reach(origin));
      const { Gateway } = (
        (await docker.getNetwork(network).inspect()) as {
          IPAM: { Config: { Gateway: string }[] };
        }
      ).IPAM.Config[0] as { Gateway: string };
      expect(reached.hostname).toBe(Gateway);
      expect(forwards.reach("https://ci.example.com")).toBe("https://ci.example.com");
      expect(forwards.rewrite({ URL: `${origin}/x`, OTHER: "https://ci.example.com/" })).toEqual({
        URL: `${reached.origin}/x`,
        OTHER: "https://ci.example.com/",
      });
      // This machine's loopback is not the job network: the forward closes the connection.
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(reached.port), "127.0.0.1");
        let got = "";
        socket.on("connect", () => socket.write("GET / HTTP/1.0\r\n\r\n"));
        socket.on("data", (d) => {
          got += d.toString();
        });
        socket.on("close", () => resolve(got));
        socket.on("error", reject);
      });
      expect(answer).toBe("");
      expect(await (await fetch(origin)).text()).toBe("reached");
    } finally {
      await forwards.close();
      service.close();
      await docker.getNetwork(network).remove();
    }
  });
});
