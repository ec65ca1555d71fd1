import { getEventListeners } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { describeOnEachDatabase, postgresAvailable } from "../../test/helpers/databases.js";
import { startTestServer, type TestServer } from "../../test/helpers/server.js";
import { AGENT_PROTOCOL, AGENT_PROTOCOL_HEADER, type AgentLease } from "./agent-protocol.js";
import { HttpTransport } from "./http-transport.js";
import { JobAgent } from "./job-agent.js";

// An idle agent long-polls its server again and again with one stop signal for its whole
// life: each poll must leave that signal as it found it.

const postgres = await postgresAvailable();

/** The real transport, counting its claims and calling `onClaim` after each. */
class CountingTransport extends HttpTransport {
  claims = 0;
  onClaim: () => void = () => undefined;

  override async claim(signal: AbortSignal): Promise<AgentLease | undefined> {
    try {
      return await super.claim(signal);
    } finally {
      this.claims++;
      this.onClaim();
    }
  }
}

describeOnEachDatabase("an idle agent", postgres, (context) => {
  let server: TestServer;
  let token: string;
  const workDir = mkdtempSync(join(tmpdir(), "trunkline-idle-agent-"));

  beforeAll(async () => {
    if (!context.available) return;
    server = await startTestServer(context.store, { runnerCapacity: 0 });
    const registered = await server.api("maintainer", "POST", "/api/v1/runners", {
      name: "idle",
      labels: ["linux"],
    });
    token = registered.body.token as string;
  });
  afterAll(async () => {
    if (context.available) await server.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  test.runIf(context.available)(
    "polls many times without collecting abort listeners on its stop signal",
    async () => {
      const warnings: Error[] = [];
      const onWarning = (warning: Error) => warnings.push(warning);
      process.on("warning", onWarning);
      try {
        // No job is queued: every claim waits 1 ms and comes back empty.
        const transport = new CountingTransport(server.base, token, 1);
        const stop = new AbortController();
        const counts: number[] = [];
        transport.onClaim = () => {
          counts.push(getEventListeners(stop.signal, "abort").length);
          if (transport.claims === 60) stop.abort();
        };
        const agent = new JobAgent({ transport, workDir, capacity: 1, baseEnv: {} });
        await agent.run(stop.signal);
        expect(transport.claims).toBe(60);
        // After each poll, nothing of it is left listening on the agent's signal.
        expect(Math.max(...counts)).toBe(0);
        expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
      } finally {
        process.off("warning", onWarning);
      }
    },
  );

  test.runIf(context.available)(
    "an agent of another protocol version stops at its first claim with the server's reason",
    async () => {
      const fetch = globalThis.fetch;
      // This agent's requests name another version, as a newer build's would.
      const spy = vi.spyOn(globalThis, "fetch").mockImplementation((input, init) =>
        fetch(input, {
          ...init,
          headers: { ...(init?.headers as Record<string, string>), [AGENT_PROTOCOL_HEADER]: "99" },
        }),
      );
      try {
        const transport = new CountingTransport(server.base, token, 1);
        const errors: Error[] = [];
        const agent = new JobAgent({
          transport,
          workDir,
          capacity: 2,
          baseEnv: {},
          onError: (err) => errors.push(err),
        });
        const refused = await agent.run(new AbortController().signal).catch((err: unknown) => err);
        expect(refused).toMatchObject({
          serverCode: "agent_protocol",
          message: `this agent speaks agent protocol 99; this server speaks agent protocol ${AGENT_PROTOCOL}: run the same Trunkline version on the agent as on the server`,
        });
        // Each slot asked once; nothing was retried.
        expect(transport.claims).toBe(2);
        expect(errors).toEqual([]);
      } finally {
        spy.mockRestore();
      }
    },
  );
});
