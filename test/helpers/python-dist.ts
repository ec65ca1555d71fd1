import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { create } from "tar";
import yazl from "yazl";

/**
 * A stand-in for `actions/python-versions` (GitHub's Python builds and their manifest), which
 * cannot be reached from here: a `versions-manifest.json` listing this machine's Debian
 * Python, whose archive holds a `setup.sh` like the real ones, installing into
 * `$RUNNER_TOOL_CACHE/Python/<version>/x64` and marking it complete. The interpreter is a
 * copy of `/usr/bin/python3` in a venv that sees the system's site packages, so a user site
 * works as in a real build (the real archives carry a prebuilt interpreter).
 */
export interface PythonDist {
  /** The manifest's URL (`--python-source`). */
  readonly manifest: string;
  /** The version it serves (`3.11.2`). */
  readonly version: string;
  /** Paths asked for, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** The system Python every job user can read, which the stand-in's builds copy. */
export const SYSTEM_PYTHON = "/usr/bin/python3";

/** Starts the stand-in on a loopback port. */
export async function startPythonDist(): Promise<PythonDist> {
  const version = execFileSync(SYSTEM_PYTHON, [
    "-c",
    "import platform; print(platform.python_version())",
  ])
    .toString()
    .trim();
  const dir = await mkdtemp(join(tmpdir(), "trunkline-python-dist-"));
  await writeFile(
    join(dir, "setup.sh"),
    [
      "#!/bin/bash",
      "set -e",
      `VERSION=${version}`,
      'DEST="$RUNNER_TOOL_CACHE/Python/$VERSION/x64"',
      'rm -rf "$DEST" && mkdir -p "$(dirname "$DEST")"',
      // With the system's site packages, so pip falls back to the user's site when the tool
      // cache is not the job's to write, as with a real (non-venv) Python build.
      `${SYSTEM_PYTHON} -m venv --copies --system-site-packages "$DEST"`,
      'touch "$RUNNER_TOOL_CACHE/Python/$VERSION/x64.complete"',
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  const filename = `python-${version}-linux-22.04-x64.tar.gz`;
  await create({ gzip: true, file: join(dir, filename), cwd: dir, portable: true }, ["setup.sh"]);
  const archive = await readFile(join(dir, filename));
  const requests: string[] = [];
  let base = "";
  const server = createServer((req, res) => {
    requests.push(req.url ?? "");
    if (req.url === "/versions-manifest.json") {
      const release = (v: string, stable: boolean) => ({
        version: v,
        stable,
        files: [
          {
            filename,
            arch: "x64",
            platform: "linux",
            platform_version: "22.04",
            download_url: `${base}/download/${filename}`,
          },
        ],
      });
      // A newer prerelease, which only allow-prereleases takes.
      res.end(JSON.stringify([release("3.99.0-rc.1", false), release(version, true)]));
    } else if (req.url === `/download/${filename}`) res.end(archive);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    manifest: `${base}/versions-manifest.json`,
    version,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A pure-Python wheel `name-version-py3-none-any.whl` holding `files`, written to `path`. */
export async function writeWheel(
  path: string,
  name: string,
  version: string,
  files: Readonly<Record<string, string>>,
): Promise<void> {
  const info = `${name}-${version}.dist-info`;
  const all: Record<string, string> = {
    ...files,
    [`${info}/METADATA`]: `Metadata-Version: 2.1\nName: ${name.replace(/_/g, "-")}\nVersion: ${version}\n`,
    [`${info}/WHEEL`]:
      "Wheel-Version: 1.0\nGenerator: trunkline-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
  };
  const record = Object.entries(all).map(([file, text]) => {
    const digest = createHash("sha256").update(text).digest("base64url");
    return `${file},sha256=${digest},${Buffer.byteLength(text)}`;
  });
  all[`${info}/RECORD`] = `${[...record, `${info}/RECORD,,`].join("\n")}\n`;
  await mkdir(dirname(path), { recursive: true });
  const zip = new yazl.ZipFile();
  const done = pipeline(zip.outputStream, createWriteStream(path));
  for (const [file, text] of Object.entries(all)) zip.addBuffer(Buffer.from(text), file);
  zip.end();
  await done;
}
