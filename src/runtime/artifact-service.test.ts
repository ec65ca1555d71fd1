import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ArtifactStore } from "../runner/actions/builtin/artifact-store.js";
import { ArtifactService } from "./artifact-service.js";
import { RuntimeTokens } from "./runtime-token.js";

// The artifact service's refusals over real HTTP; the toolkit's own client is driven through
// it end to end in test/toolkit-artifact.test.ts.

const TWIRP = "/twirp/github.actions.results.api.v1.ArtifactService/";

describe("the artifact service", () => {
  const dir = mkdtempSync(join(tmpdir(), "trunkline-artifact-service-"));
  const tokens = new RuntimeTokens(randomBytes(32));
  let server: Server;
  let service: ArtifactService;
  let origin: string;
  let token: string;
  beforeAll(async () => {
    server = createServer((req, res) => void service.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    service = new ArtifactService({
      storeFor: (runId) => new ArtifactStore(join(dir, runId)),
      verify: (t) => tokens.verify(t),
      originOf: () => origin,
      urlSecret: randomBytes(32),
    });
    token = await tokens.issue({ runId: "7", jobId: "build" });
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = async (method: string, body: Record<string, unknown>, bearer = token) => {
    const res = await fetch(`${origin}${TWIRP}${method}`, {
      method: "POST",
      headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
      body: JSON.stringify({
        workflow_run_backend_id: "7",
        workflow_job_run_backend_id: "build",
        ...body,
      }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };
  const put = (url: string, body: string) => fetch(url, { method: "PUT", body });
  const digest = (text: string) => `sha256:${createHash("sha256").update(text).digest("hex")}`;

  async function upload(name: string, content: string): Promise<string> {
    const created = await call("CreateArtifact", { name, version: 7 });
    expect(created.status).toBe(200);
    const url = created.body.signed_upload_url as string;
    expect((await put(`${url}&comp=block&blockid=YQ==`, content.slice(0, 3))).status).toBe(201);
    expect((await put(`${url}&comp=block&blockid=Yg==`, content.slice(3))).status).toBe(201);
    const list =
      '<?xml version="1.0"?><BlockList><Latest>YQ==</Latest><Latest>Yg==</Latest></BlockList>';
    expect((await put(`${url}&comp=blocklist`, list)).status).toBe(201);
    return url;
  }

  test("a run's token reaches only its run; no token, no answer", async () => {
    expect((await call("ListArtifacts", {}, "")).status).toBe(401);
    expect((await call("ListArtifacts", {}, "forged.token.here")).status).toBe(401);
    const other = await tokens.issue({ runId: "8", jobId: "build" });
    const refused = await call("ListArtifacts", {}, other);
    expect(refused).toEqual({
      status: 403,
      body: { code: "permission_denied", msg: "the token is not for this workflow run" },
    });
    // Another service's token, though well formed, is not this one's.
    const stranger = await new RuntimeTokens(randomBytes(32)).issue({ runId: "7", jobId: "x" });
    expect((await call("ListArtifacts", {}, stranger)).status).toBe(401);
  });

  test("blocks are committed in the listed order; the digest is checked at finalize", async () => {
    await upload("wrong", "abcdef");
    const bad = await call("FinalizeArtifact", { name: "wrong", size: "6", hash: digest("other") });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe("data_loss");
    expect((await call("ListArtifacts", {})).body.artifacts).toEqual([]);

    await upload("good", "abcdef");
    const done = await call("FinalizeArtifact", {
      name: "good",
      size: "6",
      hash: digest("abcdef"),
    });
    expect(done).toEqual({ status: 200, body: { ok: true, artifact_id: "1" } });
    const listed = await call("ListArtifacts", { name_filter: "good" });
    expect(listed.body.artifacts).toEqual([
      expect.objectContaining({
        name: "good",
        size: "6",
        digest: digest("abcdef"),
        database_id: "1",
      }),
    ]);
    const again = await call("CreateArtifact", { name: "good", version: 7 });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("already_exists");

    const signed = await call("GetSignedArtifactURL", { name: "good" });
    const got = await fetch(signed.body.signed_url as string);
    expect(got.headers.get("content-type")).toBe("application/zip");
    expect(await got.text()).toBe("abcdef");
    // The signature covers the name: it opens no other artifact.
    const swapped = (signed.body.signed_url as string).replace("/good?", "/wrong?");
    expect((await fetch(swapped)).status).toBe(403);
    expect(
      (await fetch((signed.body.signed_url as string).replace(/sig=\w+/, "sig=00"))).status,
    ).toBe(403);

    expect(await call("DeleteArtifact", { name: "good" })).toEqual({
      status: 200,
      body: { ok: true, artifact_id: "1" },
    });
    expect((await fetch(signed.body.signed_url as string)).status).toBe(404);
  });

  test("a block list longer than Azure's 50,000 blocks is refused; an undecodable name is a 404", async () => {
    const created = await call("CreateArtifact", { name: "many", version: 7 });
    const url = created.body.signed_upload_url as string;
    expect((await put(`${url}&comp=block&blockid=YQ==`, "a")).status).toBe(201);
    const list = `<BlockList>${"<Latest>YQ==</Latest>".repeat(50_001)}</BlockList>`;
    const refused = await put(`${url}&comp=blocklist`, list);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { msg: string }).msg).toBe("a blob has at most 50000 blocks");
    expect((await fetch(`${origin}/_artifacts/download/7/%E0%A4%A?expires=1&sig=0`)).status).toBe(
      404,
    );
  });

  test("bad names, unsigned uploads and unstaged blocks are refused; close() clears uploads", async () => {
    const bad = await call("CreateArtifact", { name: "../escape", version: 7 });
    expect(bad.status).toBe(400);
    expect(bad.body.msg).toMatch(/Forward slash/);
    const created = await call("CreateArtifact", { name: "half", version: 7 });
    const url = created.body.signed_upload_url as string;
    expect((await put(url.replace(/sig=\w+/, "sig=1234"), "x")).status).toBe(403);
    const list = "<BlockList><Latest>bm9wZQ==</Latest></BlockList>";
    const unstaged = await put(`${url}&comp=blocklist`, list);
    expect(unstaged.status).toBe(400);
    const early = await call("FinalizeArtifact", { name: "half", size: "0" });
    expect(early.body.code).toBe("failed_precondition");
    expect(readdirSync(join(dir, "7", ".uploads")).length).toBeGreaterThan(0);
    await service.close();
    expect(readdirSync(join(dir, "7", ".uploads"))).toEqual([]);
  });
});
