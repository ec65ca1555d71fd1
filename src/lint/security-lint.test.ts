import { describe, expect, test } from "vitest";
import { workflowFrom } from "../../test/helpers/workflow.js";
import { formatDiagnostic } from "../common/diagnostic.js";
import { lintSecurity } from "./security-lint.js";

async function lint(yaml: string): Promise<string[]> {
  return lintSecurity(await workflowFrom(yaml, "sec.yml")).map(formatDiagnostic);
}

describe("security lint", () => {
  test("untrusted event text in run: is script injection, pointed at the expression", async () => {
    const yaml = [
      "on: [issues, pull_request]",
      "jobs:",
      "  a:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      '      - run: echo "${{ github.event.issue.title }}" and ${{ github.sha }}',
      "      - run: |",
      "          git checkout ${{ github.head_ref }}",
      "          echo '${{ github.event.pull_request.title }}'",
      "      - uses: actions/github-script@v7",
      "        with:",
      "          script: console.log('${{ github.event.comment.body }}')",
      '      - run: echo "$TITLE"',
      "        env:",
      "          TITLE: ${{ github.event.issue.title }}",
    ].join("\n");
    expect(await lint(yaml)).toEqual([
      "sec.yml:6:20: warning: 'github.event.issue.title' is interpolated into a run script, where its text can inject commands; pass it through env: and use the quoted variable",
      "sec.yml:8:24: warning: 'github.head_ref' is interpolated into a run script, where its text can inject commands; pass it through env: and use the quoted variable",
      "sec.yml:9:17: warning: 'github.event.pull_request.title' is interpolated into a run script, where its text can inject commands; pass it through env: and use the quoted variable",
      "sec.yml:12:32: warning: 'github.event.comment.body' is interpolated into a github-script script, where its text can inject commands; pass it through env: and use the quoted variable",
    ]);
  });

  test("text inside string literals is not a context access", async () => {
    const yaml =
      "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo ${{ format('github.event.issue.title') }}\n";
    expect(await lint(yaml)).toEqual([]);
  });

  test("pull_request_target checking out the pull request's head", async () => {
    const yaml = [
      "on: pull_request_target",
      "jobs:",
      "  a:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - uses: actions/checkout@v4",
      "        with:",
      "          ref: ${{ github.event.pull_request.head.sha }}",
    ].join("\n");
    expect(await lint(yaml)).toEqual([
      "sec.yml:8:16: warning: pull_request_target checks out the pull request's head: its code then runs with this repository's secrets and write token",
    ]);
  });

  test("secrets in steps that forks' pull requests can run", async () => {
    const step = (extra = "") =>
      `${extra}    steps:\n      - run: deploy\n        env:\n          TOKEN: \${{ secrets.DEPLOY_TOKEN }}\n          GH: \${{ secrets.GITHUB_TOKEN }}\n`;
    const open = `on: pull_request\njobs:\n  a:\n    runs-on: x\n${step()}`;
    expect(await lint(open)).toEqual([
      "sec.yml:6:9: warning: secrets.DEPLOY_TOKEN is passed to a step on pull_request: runs for pull requests from forks get no secrets (guard with 'github.event.pull_request.head.repo.fork == false')",
    ]);
    const guarded = `on: pull_request\njobs:\n  a:\n    runs-on: x\n${step("    if: github.event.pull_request.head.repo.fork == false\n")}`;
    expect(await lint(guarded)).toEqual([]);
    const tagOnly = `on: [push, pull_request]\njobs:\n  a:\n    runs-on: x\n${step("    if: startsWith(github.ref, 'refs/tags/')\n")}`;
    expect(await lint(tagOnly)).toEqual([]);
    const target = `on: pull_request_target\njobs:\n  a:\n    runs-on: x\n${step()}`;
    expect(await lint(target)).toEqual([
      "sec.yml:6:9: warning: secrets.DEPLOY_TOKEN reaches a step of a pull_request_target workflow, which forks' pull requests trigger with this repository's secrets",
    ]);
    const pushOnly = `on: push\njobs:\n  a:\n    runs-on: x\n${step()}`;
    expect(await lint(pushOnly)).toEqual([]);
  });
});
