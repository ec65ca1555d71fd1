import { describe, expect, test } from "vitest";
import {
  compileFilterPattern,
  type FilterPattern,
  isPattern,
  matchesIncludeList,
} from "./filter-pattern.js";

function compileAll(patterns: string[]): FilterPattern[] {
  return patterns.map((p) => {
    const compiled = compileFilterPattern(p);
    if (!isPattern(compiled)) throw new Error(`pattern ${p}: ${compiled.message}`);
    return compiled;
  });
}

// Every example of GitHub's "Filter pattern cheat sheet" (workflow syntax reference), plus
// names the same patterns must not match.
const CHEAT_SHEET: [patterns: string[], matches: string[], misses: string[]][] = [
  // Patterns to match branches and tags
  [
    ["feature/*"],
    ["feature/my-branch", "feature/your-branch"],
    ["feature/beta-a/my-branch", "feature"],
  ],
  [
    ["feature/**"],
    ["feature/beta-a/my-branch", "feature/your-branch", "feature/mona/the/octocat"],
    ["features/x"],
  ],
  [
    ["main", "releases/mona-the-octocat"],
    ["main", "releases/mona-the-octocat"],
    ["main2", "releases/other"],
  ],
  [["*"], ["main", "releases"], ["releases/x"]],
  [["**"], ["all/the/branches", "every/tag"], []],
  [["*feature"], ["mona-feature", "feature", "ver-10-feature"], ["feature-x", "a/feature"]],
  [["v2*"], ["v2", "v2.0", "v2.9"], ["v3", "v2/x"]],
  [["v[12].[0-9]+.[0-9]+"], ["v1.10.1", "v2.0.0"], ["v3.0.0", "v1.x.1", "v1..1"]],
  // Patterns to match file paths
  [["*"], ["README.md", "server.rb"], ["docs/README.md"]],
  [["*.jsx?"], ["page.js", "page.jsx"], ["page.jsxx", "dir/page.js"]],
  [["**"], ["all/the/files.md"], []],
  [["*.js"], ["app.js", "index.js"], ["js/index.js"]],
  [["**.js"], ["index.js", "js/index.js", "src/js/app.js"], ["index.jsx"]],
  [["docs/*"], ["docs/README.md", "docs/file.txt"], ["docs/mona/octocat.txt"]],
  [["docs/**"], ["docs/README.md", "docs/mona/octocat.txt"], ["doc/README.md"]],
  [
    ["docs/**/*.md"],
    ["docs/README.md", "docs/mona/hello-world.md", "docs/a/markdown/file.md"],
    ["docs/file.txt"],
  ],
  [
    ["**/docs/**"],
    ["docs/hello.md", "dir/docs/my-file.txt", "space/docs/plan/space.doc"],
    ["mydocs/x"],
  ],
  [["**/README.md"], ["README.md", "js/README.md"], ["README.mdx"]],
  [["**/*src/**"], ["a/src/app.js", "my-src/code/js/app.js"], ["source/app.js"]],
  [["**/*-post.md"], ["my-post.md", "path/their-post.md"], ["post.md"]],
  [
    ["**/migrate-*.sql"],
    ["migrate-10909.sql", "db/migrate-v1.0.sql", "db/sept/migrate-v1.sql"],
    ["migrate.sql"],
  ],
  [["*.md", "!README.md"], ["hello.md"], ["README.md", "docs/hello.md"]],
  [["*.md", "!README.md", "README*"], ["hello.md", "README.md", "README.doc"], []],
  // Escapes and sets
  [["\\!file"], ["!file"], ["file"]],
  [["release\\+x"], ["release+x"], ["releasex"]],
  [["[CB]at"], ["Cat", "Bat"], ["Hat"]],
  [["[1-2]00"], ["100", "200"], ["300"]],
];

describe("filter patterns: GitHub's cheat sheet", () => {
  test.each(CHEAT_SHEET)("%j", (patterns, matches, misses) => {
    const compiled = compileAll(patterns);
    for (const name of matches) expect(matchesIncludeList(compiled, name), name).toBe(true);
    for (const name of misses) expect(matchesIncludeList(compiled, name), name).toBe(false);
  });
});

describe("filter patterns: invalid", () => {
  test.each([
    ["[]x", "empty brackets '[]'", 0],
    ["a[z-a]", "range 'z-a' must stay within a-z, A-Z or 0-9", 2],
    ["a[a-Z]", "range 'a-Z' must stay within a-z, A-Z or 0-9", 2],
    ["a[bc", "'[' has no closing ']'", 1],
    ["x\\", "'\\' at the end escapes nothing", 1],
    ["**+", "'+' must follow a character or a [set]", 2],
    ["!*?", "'?' must follow a character or a [set]", 2],
    ["!", "empty pattern", 0],
  ])("%s", (pattern, message, offset) => {
    expect(compileFilterPattern(pattern)).toEqual({ message, offset });
  });

  test("a leading '?' or '+' is a literal character", () => {
    const [p] = compileAll(["+x"]);
    expect(matchesIncludeList([p as FilterPattern], "+x")).toBe(true);
  });
});
