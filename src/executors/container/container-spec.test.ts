import { describe, expect, test } from "vitest";
import { InputError } from "../../common/errors.js";
import { parsePort, parseVolume, readContainerSpec } from "./container-spec.js";

describe("readContainerSpec", () => {
  test("an image name alone", () => {
    expect(readContainerSpec("node:20", "container")).toMatchObject({
      image: "node:20",
      env: {},
      ports: [],
      volumes: [],
    });
  });

  test("an empty image means no container, as on GitHub (matrix rows may leave it empty)", () => {
    expect(readContainerSpec("", "container")).toBeUndefined();
    expect(readContainerSpec({ image: "" }, "container")).toBeUndefined();
    expect(readContainerSpec(undefined, "container")).toBeUndefined();
  });

  test("the full mapping", () => {
    const spec = readContainerSpec(
      {
        image: "postgres:16",
        env: { POSTGRES_PASSWORD: "pw", PORT: 5432 },
        ports: ["5432:5432", 6379],
        volumes: ["data:/var/lib/postgresql/data", "/srv/x:/x:ro"],
        options: "--health-cmd pg_isready",
        credentials: { username: "u", password: "p" },
      },
      "services.db",
    );
    expect(spec).toMatchObject({
      image: "postgres:16",
      env: { POSTGRES_PASSWORD: "pw", PORT: "5432" },
      ports: [
        { containerPort: "5432", hostPort: "5432", protocol: "tcp" },
        { containerPort: "6379", protocol: "tcp" },
      ],
      volumes: [
        { source: "data", target: "/var/lib/postgresql/data", readOnly: false, named: true },
        { source: "/srv/x", target: "/x", readOnly: true, named: false },
      ],
      credentials: { username: "u", password: "p" },
    });
    expect(spec?.options.health?.command).toEqual(["CMD-SHELL", "pg_isready"]);
  });

  test("credentials without both parts are ignored, as on GitHub", () => {
    expect(
      readContainerSpec({ image: "x", credentials: { username: "u" } }, "c")?.credentials,
    ).toBeUndefined();
  });

  test("mistakes name their place", () => {
    expect(() => readContainerSpec(["x"], "container")).toThrow(
      new InputError("container: must be an image name or a mapping"),
    );
    expect(() => readContainerSpec({ image: "x", port: [] }, "services.db")).toThrow(
      "services.db: unknown key 'port'",
    );
    expect(() => readContainerSpec({ image: "x", ports: "80" }, "c")).toThrow(
      "c.ports: must be a list",
    );
    expect(() => readContainerSpec({ image: "x", env: [] }, "c")).toThrow(
      "c.env: must be a mapping",
    );
  });
});

describe("ports and volumes", () => {
  test.each([
    ["80", { containerPort: "80", protocol: "tcp" }],
    ["8080:80", { containerPort: "80", hostPort: "8080", protocol: "tcp" }],
    [
      "127.0.0.1:8080:80/udp",
      { containerPort: "80", hostPort: "8080", hostIp: "127.0.0.1", protocol: "udp" },
    ],
    ["127.0.0.1::80", { containerPort: "80", hostIp: "127.0.0.1", protocol: "tcp" }],
  ])("port %s", (entry, mapping) => {
    expect(parsePort(entry, "ports")).toEqual(mapping);
  });

  test.each(["http", "80/xyz", "0", "70000", "a:80"])("not a port: %s", (entry) => {
    expect(() => parsePort(entry, "ports")).toThrow(`ports: '${entry}' is not a port mapping`);
  });

  test.each([
    ["/data", { source: "", target: "/data", readOnly: false, named: false }],
    ["vol:/data:ro", { source: "vol", target: "/data", readOnly: true, named: true }],
    ["/a:/b", { source: "/a", target: "/b", readOnly: false, named: false }],
  ])("volume %s", (entry, mount) => {
    expect(parseVolume(entry, "volumes")).toEqual(mount);
  });

  test.each(["data", "a:b", "a:/b:rx"])("not a volume: %s", (entry) => {
    expect(() => parseVolume(entry, "volumes")).toThrow(InputError);
  });
});
