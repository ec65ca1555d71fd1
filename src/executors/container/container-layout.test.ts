import { describe, expect, test } from "vitest";
import { actionContainerLayout, jobContainerLayout } from "./container-layout.js";

const paths = {
  workspace: "/r/job/workspace",
  temp: "/r/job/temp",
  toolCache: "/r/tool-cache",
  files: "/r/job/runner",
};

describe("a job container sees the job's files where GitHub puts them", () => {
  const { binds, paths: map } = jobContainerLayout(paths, "/r/job/home", "/__w/app/app", [
    { host: "/state/actions", container: "/__w/_actions", readOnly: true },
  ]);

  test("mounts", () => {
    expect(binds.map((b) => `${b.host}:${b.container}${b.readOnly ? ":ro" : ""}`)).toEqual([
      "/r/job/workspace:/__w/app/app",
      "/r/job/temp:/__w/_temp",
      "/r/job/runner:/__w/_temp/_runner_file_commands",
      "/r/job/runner:/github/workflow",
      "/r/job/home:/github/home",
      "/r/tool-cache:/__t",
      `${process.execPath}:/__e/node20/bin/node:ro`,
      "/state/actions:/__w/_actions:ro",
    ]);
  });

  test("translation: the event file goes to /github/workflow, the runner's other files to _temp", () => {
    expect(map.toContainer("/r/job/runner/event.json")).toBe("/github/workflow/event.json");
    expect(map.toContainer("/r/job/runner/set_env_1")).toBe(
      "/__w/_temp/_runner_file_commands/set_env_1",
    );
    expect(map.toContainer(process.execPath)).toBe("/__e/node20/bin/node");
    expect(map.toContainer("/state/actions/acme/x/main.js")).toBe("/__w/_actions/acme/x/main.js");
    // Nothing else of the host is rewritten: the image's own PATH stays as it is.
    expect(map.envToContainer({ PATH: "/usr/local/bin:/usr/bin:/bin" }).PATH).toBe(
      "/usr/local/bin:/usr/bin:/bin",
    );
  });
});

test("a Docker action's container sees /github/*, and the engine's socket when it is local", () => {
  const { binds, paths: map } = actionContainerLayout(
    paths,
    "/r/job/home",
    "/run/podman/podman.sock",
  );
  expect(binds.map((b) => `${b.host}:${b.container}`)).toEqual([
    "/r/job/workspace:/github/workspace",
    "/r/job/home:/github/home",
    "/r/job/runner:/github/file_commands",
    "/r/job/runner:/github/workflow",
    "/run/podman/podman.sock:/var/run/docker.sock",
  ]);
  expect(map.toContainer("/r/job/runner/set_output_1")).toBe("/github/file_commands/set_output_1");
  expect(map.toContainer("/r/job/runner/event.json")).toBe("/github/workflow/event.json");
  expect(map.toContainer("/r/job/workspace/a")).toBe("/github/workspace/a");
  expect(actionContainerLayout(paths, "/h", undefined).binds).toHaveLength(4);
});
