import { join } from "node:path";
import type { JobPaths } from "../executor.js";
import { PathMap } from "./path-map.js";
import type { BindMount } from "./start-container.js";

/** Where GitHub's runner puts things inside a job container. */
export const IN_JOB_CONTAINER = {
  temp: "/__w/_temp",
  files: "/__w/_temp/_runner_file_commands",
  home: "/github/home",
  workflow: "/github/workflow",
  toolCache: "/__t",
  node: "/__e/node20",
} as const;

/** A container's mounts, and the translation of host paths its processes are given. */
export interface ContainerLayout {
  readonly binds: readonly BindMount[];
  readonly paths: PathMap;
}

/**
 * A job container's layout, as GitHub's: the workspace at `/__w/<repo>/<repo>`, temp and
 * the runner's files under `/__w/_temp`, the event at `/github/workflow/event.json`, a home
 * at `/github/home`, the tool cache at `/__t`, this process's Node binary at
 * `/__e/node20/bin/node` (only the binary: mapping its directory, often /usr, would rewrite
 * the image's PATH), and `extra` mounts.
 */
export function jobContainerLayout(
  paths: JobPaths,
  home: string,
  workspace: string,
  extra: readonly BindMount[],
): ContainerLayout {
  const c = IN_JOB_CONTAINER;
  const binds: BindMount[] = [
    { host: paths.workspace, container: workspace },
    { host: paths.temp, container: c.temp },
    { host: paths.files, container: c.files },
    { host: paths.files, container: c.workflow },
    { host: home, container: c.home },
    { host: paths.toolCache, container: c.toolCache },
    { host: process.execPath, container: `${c.node}/bin/node`, readOnly: true },
    ...extra,
  ];
  const event = { host: join(paths.files, "event.json"), container: `${c.workflow}/event.json` };
  return {
    binds,
    paths: new PathMap([...binds.filter((b) => b.container !== c.workflow), event]),
  };
}

/**
 * A Docker action container's layout, as GitHub's: the workspace at `/github/workspace`, the
 * home at `/github/home`, the runner's files at `/github/file_commands`, the event at
 * `/github/workflow/event.json`, and the engine's socket at `/var/run/docker.sock` when the
 * engine is local (`engineSocket`).
 */
export function actionContainerLayout(
  paths: JobPaths,
  home: string,
  engineSocket: string | undefined,
): ContainerLayout {
  const binds: BindMount[] = [
    { host: paths.workspace, container: "/github/workspace" },
    { host: home, container: "/github/home" },
    { host: paths.files, container: "/github/file_commands" },
    { host: paths.files, container: "/github/workflow" },
  ];
  const event = { host: join(paths.files, "event.json"), container: "/github/workflow/event.json" };
  const mapped = new PathMap([...binds.filter((b) => b.container !== "/github/workflow"), event]);
  if (engineSocket) binds.push({ host: engineSocket, container: "/var/run/docker.sock" });
  return { binds, paths: mapped };
}
