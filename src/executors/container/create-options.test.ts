import { describe, expect, test } from "vitest";
import { InputError } from "../../common/errors.js";
import {
  healthCheckOf,
  parseBytes,
  parseCreateOptions,
  parseDuration,
  splitArguments,
} from "./create-options.js";

describe("splitArguments: words as GitHub's runner passes them to docker", () => {
  test.each([
    ["a b  c", ["a", "b", "c"]],
    ["\ta\tb ", ["a", "b"]],
    [`--health-cmd "pg_isready -U x" -e A=1`, ["--health-cmd", "pg_isready -U x", "-e", "A=1"]],
    // Single quotes are ordinary characters: GitHub's runner does not treat them as quotes.
    [`-c 'echo hi'`, ["-c", "'echo", "hi'"]],
    [`"a ""quoted"" word"`, ['a "quoted" word']],
    [`a\\b "c\\" d`, ["a\\b", 'c" d']],
    [`\\\\"x y"`, ["\\x y"]],
    [`\\"x y`, ['"x', "y"]],
    [`say\\"hi`, ['say"hi']],
    [`""`, [""]],
    [`a "" b`, ["a", "", "b"]],
    ["", []],
    [`"unterminated quote`, ["unterminated quote"]],
  ])("%s", (line, words) => {
    expect(splitArguments(line)).toEqual(words);
  });
});

describe("durations and sizes", () => {
  test.each([
    ["10s", 10_000],
    ["1m30s", 90_000],
    ["500ms", 500],
    ["2h", 7_200_000],
    ["1.5s", 1500],
    ["0", 0],
  ])("duration %s", (text, ms) => {
    expect(parseDuration(text, "x")).toBe(ms);
  });

  test.each(["10", "s", "10x", "1m 2s"])("not a duration: %s", (text) => {
    expect(() => parseDuration(text, "x")).toThrow(InputError);
  });

  test.each([
    ["512m", 512 * 1024 ** 2],
    ["1g", 1024 ** 3],
    ["1024", 1024],
    ["64k", 65536],
  ])("size %s", (text, bytes) => {
    expect(parseBytes(text, "x")).toBe(bytes);
  });
});

describe("parseCreateOptions", () => {
  test("the flags workflows use for services", () => {
    const o = parseCreateOptions(
      `--health-cmd "redis-cli ping" --health-interval 10s --health-timeout=5s --health-retries 5 --health-start-period 1m -u 1000:1000 --hostname db --privileged --init --cpus 1.5 -m 512m --shm-size 1g -e A=1 --env=B=two=2 -l team=ci --network-alias cache --add-host h:10.0.0.1 --cap-add NET_ADMIN --cap-drop ALL --security-opt seccomp=unconfined --tmpfs /run:size=64m --entrypoint /bin/sh -w /srv`,
      "options",
    );
    expect(o).toEqual({
      health: {
        command: ["CMD-SHELL", "redis-cli ping"],
        intervalMs: 10_000,
        timeoutMs: 5000,
        retries: 5,
        startPeriodMs: 60_000,
      },
      noHealthcheck: false,
      user: "1000:1000",
      hostname: "db",
      privileged: true,
      init: true,
      nanoCpus: 1.5e9,
      memoryBytes: 512 * 1024 ** 2,
      shmSizeBytes: 1024 ** 3,
      env: { A: "1", B: "two=2" },
      labels: { team: "ci" },
      networkAliases: ["cache"],
      extraHosts: ["h:10.0.0.1"],
      capAdd: ["NET_ADMIN"],
      capDrop: ["ALL"],
      securityOpt: ["seccomp=unconfined"],
      tmpfs: { "/run": "size=64m" },
      entrypoint: "/bin/sh",
      workdir: "/srv",
    });
  });

  test("--network is refused as on GitHub; unknown flags are refused by name", () => {
    expect(() => parseCreateOptions("--network host", "container.options")).toThrow(
      "container.options: '--network' is not supported: every container of a job joins the job's network",
    );
    expect(() => parseCreateOptions("--pids-limit 5", "container.options")).toThrow(
      /container\.options: '--pids-limit' is not supported \(supported: --health-cmd, /,
    );
    expect(() => parseCreateOptions("--user", "o")).toThrow("o: '--user' needs a value");
    expect(() => parseCreateOptions("--health-retries x", "o")).toThrow(
      "o --health-retries: 'x' is not a number",
    );
    expect(() => parseCreateOptions("-e NOVALUE", "o")).toThrow(
      "o --env: 'NOVALUE' is not NAME=value",
    );
  });
});

describe("healthCheckOf", () => {
  const none = parseCreateOptions("", "o");

  test("Docker's defaults fill what options leave out", () => {
    expect(healthCheckOf(parseCreateOptions(`--health-cmd "true"`, "o"), undefined)).toEqual({
      command: ["/bin/sh", "-c", "true"],
      intervalMs: 30_000,
      timeoutMs: 30_000,
      retries: 3,
      startPeriodMs: 0,
    });
  });

  test("the image's HEALTHCHECK applies when options name none; --no-healthcheck drops it", () => {
    const image = { Test: ["CMD", "pg_isready", "-q"], Interval: 2e9, Retries: 7 };
    expect(healthCheckOf(none, image)).toEqual({
      command: ["pg_isready", "-q"],
      intervalMs: 2000,
      timeoutMs: 30_000,
      retries: 7,
      startPeriodMs: 0,
    });
    expect(healthCheckOf(parseCreateOptions("--no-healthcheck", "o"), image)).toBeUndefined();
    expect(healthCheckOf(none, { Test: ["NONE"] })).toBeUndefined();
    expect(healthCheckOf(none, undefined)).toBeUndefined();
  });
});
