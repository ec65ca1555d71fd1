import { afterAll, beforeAll, expect, test } from "vitest";
import { runCli } from "../../../test/helpers/capture.js";
import { describeOnEachDatabase, postgresAvailable } from "../../../test/helpers/databases.js";
import { seedRun } from "../../../test/helpers/seed.js";
import { startTestServer, type TestServer } from "../../../test/helpers/server.js";

const postgres = await postgresAvailable();

/** The documented page sizes of `GET /api/v1/jobs/{id}/logs`. */
const LOG_PAGE_DEFAULT = 1000;
const LOG_PAGE_MAX = 10_000;

/** More lines than the largest page, in chunks of uneven sizes so pages end inside chunks. */
const TOTAL = 2 * LOG_PAGE_MAX + 5003;
const CHUNK_SIZES = [1, 999, 1000, 2500, 7, 3333];
const ALL = Array.from({ length: TOTAL }, (_, i) => `line ${i + 1}`);

describeOnEachDatabase("a job's log is read in pages", postgres, (context) => {
  let server: TestServer;

  beforeAll(async () => {
    if (!context.available) return;
    server = await startTestServer(context.store);
    const { db } = context.store;
    await seedRun(db, { run: "run1", job: "j1" }, { runStatus: "success", jobStatus: "success" });
    const chunks = [];
    for (let offset = 0, i = 0; offset < TOTAL; i++) {
      const count = Math.min(CHUNK_SIZES[i % CHUNK_SIZES.length] ?? 1, TOTAL - offset);
      const lines = ALL.slice(offset, offset + count).join("\n");
      chunks.push({ job_id: "j1", offset, lines, line_count: count });
      offset += count;
    }
    for (let i = 0; i < chunks.length; i += 500)
      await db
        .insertInto("log_chunks")
        .values(chunks.slice(i, i + 500))
        .execute();
  });
  afterAll(async () => {
    if (context.available) await server.close();
  });

  const page = (query: string) =>
    server.app.inject({
      url: `/api/v1/jobs/j1/logs${query}`,
      headers: { authorization: `Bearer ${server.tokens.viewer}` },
    });

  test.runIf(context.available)(
    "pages of the default size and of the maximum follow `next` with no line lost or twice",
    async () => {
      for (const [limit, query] of [
        [LOG_PAGE_DEFAULT, ""],
        [LOG_PAGE_MAX, `&limit=${LOG_PAGE_MAX}`],
        [777, "&limit=777"],
      ] as const) {
        const read: string[] = [];
        let from = 0;
        for (;;) {
          const response = await page(`?from=${from}${query}`);
          expect(response.statusCode).toBe(200);
          const body = response.json() as { lines: string[]; next: number; more: boolean };
          expect(body.lines.length).toBe(body.more ? limit : TOTAL - from);
          expect(body.next).toBe(from + body.lines.length);
          read.push(...body.lines);
          if (!body.more) {
            expect(response.headers.link).toBeUndefined();
            break;
          }
          expect(response.headers.link).toBe(
            `</api/v1/jobs/j1/logs?from=${body.next}&limit=${limit}>; rel="next"`,
          );
          from = body.next;
        }
        expect(read).toEqual(ALL);
      }
      expect((await page(`?from=${TOTAL}`)).json()).toEqual({
        lines: [],
        next: TOTAL,
        more: false,
      });
      expect((await page(`?from=${TOTAL + 5}`)).json()).toEqual({
        lines: [],
        next: TOTAL + 5,
        more: false,
      });
    },
  );

  test.runIf(context.available)(
    "a limit above the maximum, or a bad cursor, is a 400 naming the parameter",
    async () => {
      const cases: [string, string][] = [
        [`?limit=${LOG_PAGE_MAX + 1}`, `querystring.limit: must be <= ${LOG_PAGE_MAX}`],
        ["?limit=0", "querystring.limit: must be >= 1"],
        ["?limit=ten", "querystring.limit: must be integer"],
        ["?from=-1", "querystring.from: must be >= 0"],
        ["?from=1.5", "querystring.from: must be integer"],
      ];
      for (const [query, message] of cases) {
        const response = await page(query);
        expect([query, response.statusCode, response.json()]).toEqual([
          query,
          400,
          { code: "invalid_request", message },
        ]);
      }
    },
  );

  test.runIf(context.available)("the CLI's `runs logs` prints the whole log", async () => {
    const result = await runCli([
      "runs",
      "logs",
      "run1",
      "--server",
      server.base,
      "--token",
      server.tokens.viewer,
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split("\n")).toEqual(["── build (success) ──", ...ALL]);
  });

  test.runIf(context.available)(
    "`runs logs --follow` streams the whole log, read from the store in pages",
    async () => {
      const result = await runCli([
        "runs",
        "logs",
        "run1",
        "--follow",
        "--server",
        server.base,
        "--token",
        server.tokens.viewer,
      ]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.split("\n")).toEqual([
        ...ALL.map((line) => `[build] ${line}`),
        "[build] ✓ success",
        "",
        "Run #1 ✓ success",
      ]);
    },
  );

  test.runIf(context.available)("the OpenAPI document states the paging", async () => {
    const doc = (
      await server.app.inject({
        url: "/openapi.json",
        headers: { authorization: `Bearer ${server.tokens.viewer}` },
      })
    ).json();
    const get = doc.paths["/api/v1/jobs/{id}/logs"].get;
    const query = get.parameters.filter((p: { in: string }) => p.in === "query");
    expect(query.map((p: { name: string; schema: object }) => [p.name, p.schema])).toEqual([
      ["from", { type: "integer", minimum: 0, default: 0 }],
      ["limit", { type: "integer", minimum: 1, maximum: LOG_PAGE_MAX, default: LOG_PAGE_DEFAULT }],
    ]);
    expect(Object.keys(get.responses["200"].content["application/json"].schema.properties)).toEqual(
      ["lines", "next", "more"],
    );
  });
});
