import { describe, expect, it } from "vitest";
import type { Workflow } from "../workflow/model.js";
import { callEnded, combinedStatus, loadCalledWorkflows, prepareCall } from "./reusable-call.js";

const at = { line: 1, column: 1 };
function workflow(file: string, calls: string[], on: Workflow["on"] = { other: {} }): Workflow {
  return {
    file,
    name: file,
    on,
    jobs: calls.map((uses, i) => ({
      kind: "call",
      id: `c${i}`,
      at,
      needs: [],
      if: "success()",
      uses,
    })),
  } as unknown as Workflow;
}

describe("loadCalledWorkflows", () => {
  it("loads each called workflow once, and what it calls, keeping failures as errors", async () => {
    const files: Record<string, Workflow> = {
      "./a.yml": workflow("a.yml", ["./b.yml", "./missing.yml"]),
      "./b.yml": workflow("b.yml", ["./a.yml"]),
    };
    const asked: string[] = [];
    const loaded = await loadCalledWorkflows(
      [workflow("root.yml", ["./a.yml", "./a.yml"])],
      async (uses) => {
        asked.push(uses);
        const found = files[uses];
        if (!found) throw new Error(`no file ${uses}`);
        return found;
      },
    );
    expect(asked).toEqual(["./a.yml", "./b.yml", "./missing.yml"]);
    expect(loaded.get("./b.yml")).toBe(files["./b.yml"]);
    expect((loaded.get("./missing.yml") as Error).message).toBe("no file ./missing.yml");
  });

  it("without a loader, every call is an error that says so", async () => {
    const loaded = await loadCalledWorkflows([workflow("root.yml", ["./a.yml"])], undefined);
    expect((loaded.get("./a.yml") as Error).message).toContain("cannot read called workflows");
  });
});

describe("prepareCall", () => {
  const caller = { workflow: workflow("root.yml", []), inputs: {} };
  const job = { kind: "call", id: "c", at, needs: [], if: "success()", uses: "./x.yml" } as const;
  it.each([
    [undefined, "it was not loaded"],
    [new Error("boom"), "cannot call './x.yml': boom"],
    [workflow("x.yml", []), "is not a reusable workflow: it has no on.workflow_call"],
  ])("refuses a call to %s", (target, message) => {
    const r = prepareCall({ job, target, caller, key: "root.yml / c", contexts: {}, secrets: {} });
    expect(r instanceof Error ? r.message : "").toContain(message);
  });

  it("passes only GITHUB_TOKEN when the call gives no secrets, and every secret with inherit", () => {
    const target = workflow("x.yml", [], { other: {}, workflow_call: { inputs: [], secrets: [] } });
    const secrets = { GITHUB_TOKEN: "t", KEY: "k" };
    const plain = prepareCall({ job, target, caller, key: "k", contexts: {}, secrets });
    const inherit = prepareCall({
      job: { ...job, secrets: "inherit" },
      target,
      caller,
      key: "k",
      contexts: {},
      secrets,
    });
    expect(plain instanceof Error ? undefined : plain.caller?.secrets).toEqual({
      GITHUB_TOKEN: "t",
    });
    expect(inherit instanceof Error ? undefined : inherit.caller?.secrets).toEqual(secrets);
    expect(inherit instanceof Error ? undefined : inherit.caller?.depth).toBe(2);
  });
});

describe("combinedStatus", () => {
  it.each([
    [["success", "failure", "cancelled"], "failure"],
    [["success", "cancelled"], "cancelled"],
    [["success", undefined], "cancelled"],
    [["skipped", "skipped"], "skipped"],
    [["success", "skipped"], "success"],
  ] as const)("%j is %s", (statuses, status) => {
    expect(combinedStatus(statuses)).toBe(status);
  });
});

describe("callEnded", () => {
  const target = {
    file: "r.yml",
    name: "r",
    on: {
      other: {},
      workflow_call: {
        inputs: [],
        secrets: [],
        outputs: [{ name: "v", value: { kind: "expr", expr: "jobs.j.outputs.v" } }],
      },
    },
    jobs: [],
  } as unknown as Workflow;
  const job = (status: "success" | "failure" | undefined, v: string, endedAs: number) =>
    ({ job: { id: "j" }, status, outputs: { v }, endedAs }) as never;
  const call = (key: string, j: never) => ({
    key,
    wf: { workflow: target, inputs: {} },
    jobs: [j],
    started: true,
    cancelled: false,
  });

  it("waits while a called job runs", () => {
    expect(callEnded([call("a", job(undefined, "", 0))], () => ({}))).toBeUndefined();
  });

  it("takes a matrix of calls' outputs from the last successful instance to end that set them", () => {
    const ended = callEnded(
      [
        call("a", job("success", "from-a", 3)),
        call("b", job("success", "from-b", 1)),
        call("c", job("failure", "from-c", 5)),
        call("d", job("success", "", 4)),
      ],
      () => ({}),
    );
    expect(ended).toEqual({ status: "failure", outputs: { v: "from-a" } });
  });
});
