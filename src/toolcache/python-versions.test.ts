import { describe, expect, test } from "vitest";
import { newestPython, pythonFile, pythonRange } from "./python-versions.js";

const VERSIONS = ["3.10.13", "3.11.2", "3.11.9", "3.12.4", "3.13.0-rc.2", "3.13.1"];

describe("python-version", () => {
  test.each([
    ["3.11", "3.11.9"],
    ["3.12", "3.12.4"],
    ["3", "3.13.1"],
    ["3.x", "3.13.1"],
    ["3.11.2", "3.11.2"],
    [">=3.10 <3.12", "3.11.9"],
    ["3.9", undefined],
  ])("%s is served by %s", (spec, newest) => {
    const range = pythonRange(spec);
    if (typeof range === "object") throw new Error(range.error);
    expect(newestPython(VERSIONS, range, false)).toBe(newest);
  });

  test("prereleases only when allowed", () => {
    const range = pythonRange("3.13") as string;
    expect(newestPython(["3.13.0-rc.2"], range, false)).toBeUndefined();
    expect(newestPython(["3.13.0-rc.2"], range, true)).toBe("3.13.0-rc.2");
  });

  test.each([
    ["pypy3.10", "'pypy3.10': PyPy and GraalPy are not served here"],
    ["3.13t", "'3.13t': free-threaded builds are not served here"],
    ["three", "'three' is not a Python version or range"],
  ])("%s is refused", (spec, error) => {
    expect(pythonRange(spec)).toEqual({ error });
  });

  test("the build for this OS release is chosen, else the first linux one", () => {
    const file = (platform_version: string) => ({
      filename: `p-${platform_version}.tar.gz`,
      arch: "x64",
      platform: "linux",
      platform_version,
      download_url: `https://x/${platform_version}`,
    });
    const release = {
      version: "3.11.9",
      files: [
        { ...file("20.04"), platform: "darwin" },
        file("22.04"),
        file("24.04"),
        { ...file("24.04"), arch: "arm64" },
      ],
    };
    expect(pythonFile(release, "x64", "24.04")?.download_url).toBe("https://x/24.04");
    expect(pythonFile(release, "x64", "12")?.download_url).toBe("https://x/22.04");
    expect(pythonFile(release, "arm64", undefined)?.download_url).toBe("https://x/24.04");
    expect(pythonFile(release, "s390x", undefined)).toBeUndefined();
  });
});
