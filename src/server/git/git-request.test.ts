import { describe, expect, test } from "vitest";
import { InputError, NotFoundError } from "../../common/errors.js";
import { parseGitRequest } from "./git-request.js";

describe("parseGitRequest", () => {
  test.each([
    ["GET", "/git/app.git/info/refs?service=git-upload-pack", "upload-pack"],
    ["GET", "/git/app.git/info/refs?service=git%2Dreceive-pack", "receive-pack"],
    ["GET", "/git/app.git/info/refs?%73ervice=git-receive-pac%6b", "receive-pack"],
    ["GET", "/git/app.git/info/refs?service=git-receive-pack&x=1", "receive-pack"],
    ["GET", "/git/%61pp.git/info/%72efs?service=git-upload-pack", "upload-pack"],
  ] as const)("%s %s is the %s advertisement, handed to git canonical", (method, url, service) => {
    expect(parseGitRequest(method, url)).toEqual({
      repository: "app",
      service,
      pathInfo: "/app.git/info/refs",
      queryString: `service=git-${service}`,
    });
  });

  test.each([
    ["/git/app.git/git-upload-pack", "upload-pack"],
    ["/git/app.git/git%2dreceive-pack", "receive-pack"],
    ["/git/app.git/%67it-receive-pack?service=git-upload-pack", "receive-pack"],
  ] as const)("POST %s is the %s exchange", (url, service) => {
    expect(parseGitRequest("POST", url)).toEqual({
      repository: "app",
      service,
      pathInfo: `/app.git/git-${service}`,
      queryString: "",
    });
  });

  test.each([
    ["GET", "/git/app.git/info/refs?service=git-upload-pack&service=git-receive-pack"],
    ["GET", "/git/app.git/info/refs?service=git%252Dreceive-pack"],
    ["GET", "/git/app.git/info/refs?service=receive-pack"],
    ["GET", "/git/app.git/info/refs?service=git-upload-archive"],
    ["GET", "/git/app.git/info/refs"],
    ["GET", "/git/app.git/git-upload-pack"],
    ["POST", "/git/app.git/info/refs?service=git-upload-pack"],
    ["GET", "/git/../app.git/info/refs?service=git-upload-pack"],
    ["GET", "/git/%2e%2e%2fapp.git/info/refs?service=git-upload-pack"],
    ["GET", "/git/.hidden.git/info/refs?service=git-upload-pack"],
    ["GET", "/git/app.git//info/refs?service=git-upload-pack"],
    ["GET", "/git/app.git/%E0%A4%A/x"],
  ])("%s %s is refused as bad input", (method, url) => {
    expect(() => parseGitRequest(method, url)).toThrow(InputError);
  });

  test.each([
    "/git/app/info/refs?service=git-upload-pack",
    "/gitx/app.git/info/refs?service=git-upload-pack",
    "/git/app.git/HEAD",
    "/git/app.git/objects/info/packs",
  ])("GET %s is not a git endpoint", (url) => {
    expect(() => parseGitRequest("GET", url)).toThrow(NotFoundError);
  });
});
