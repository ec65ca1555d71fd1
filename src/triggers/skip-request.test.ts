import { describe, expect, it } from "vitest";
import { skipRequest } from "./skip-request.js";

describe("skipRequest", () => {
  it.each([
    ["Fix typo [skip ci]", "[skip ci]"],
    ["[ci skip] docs only", "[ci skip]"],
    ["Docs\n\nMore words [no ci]", "[no ci]"],
    ["Bump [SKIP ACTIONS]", "[skip actions]"],
    ["chore: [actions skip]", "[actions skip]"],
    ["Update README\n\n\nskip-checks: true", "skip-checks: true"],
    ["Update README\n\nSigned-off-by: A <a@b>\nskip-checks:true", "skip-checks: true"],
    ["Fix the build", undefined],
    ["skip ci without brackets", undefined],
    ["skip-checks: true", undefined],
    ["Title\n\nskip-checks: false", undefined],
    ["Title\n\nskip-checks: true\n\nA later paragraph", undefined],
    ["Title\n\nskip-checks: true\nSigned-off-by: A <a@b>", undefined],
    ["", undefined],
    [undefined, undefined],
  ])("%j asks %j", (message, asked) => {
    expect(skipRequest(message)).toBe(asked);
  });
});
