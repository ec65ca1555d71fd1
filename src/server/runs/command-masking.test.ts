import { afterAll, beforeAll, expect, test } from "vitest";
import { describeOnEachDatabase, postgresAvailable } from "../../../test/helpers/databases.js";
import { committed, git } from "../../../test/helpers/git.js";
import { startTestServer, type TestServer } from "../../../test/helpers/server.js";
import { setSecret } from "../../secrets/secret-store.js";

const SECRET = "s3rver-Secret/with&<chars>";
const NUMBER = "987654321";

// Every annotation property, a group title, a debug line and an echoed command carry a secret,
// plain and in the encodings the masker knows.
const WORKFLOW = `name: Commands
on: push
jobs:
  cmds:
    runs-on: ubuntu-latest
    env:
      S: \${{ secrets.TOKEN }}
      N: \${{ secrets.NUMBER }}
    steps:
      - run: |
          B64=$(printf '%s' "$S" | base64 -w0)
          URL=$(node -e 'process.stdout.write(encodeURIComponent(process.env.S))')
          echo "::notice file=$S,line=1,title=t-$S::notice message"
          echo "::warning file=src/$S.ts,line=2,title=$B64::warning message"
          echo "::error file=$URL,line=$N,col=$N::error message"
          echo "##[warning file=$S;line=6]legacy message"
          echo "::group::group $S"
          echo "::endgroup::"
          echo "::debug file=$S::debug $S"
          echo "::add-matcher owner=$S::$S"
`;

const postgres = await postgresAvailable();

describeOnEachDatabase("secrets in workflow command properties", postgres, (context) => {
  let server: TestServer;

  beforeAll(async () => {
    if (!context.available) return;
    server = await startTestServer(context.store);
    await server.api("admin", "POST", "/api/v1/repositories", { name: "app" });
    const repo = await context.store.db
      .selectFrom("repositories")
      .select("id")
      .executeTakeFirstOrThrow();
    const scope = { kind: "repository", repositoryId: repo.id } as const;
    await setSecret(context.store.db, server.box, scope, "TOKEN", SECRET);
    await setSecret(context.store.db, server.box, scope, "NUMBER", NUMBER);
    await setSecret(context.store.db, server.box, scope, "ACTIONS_STEP_DEBUG", "true");
  });
  afterAll(async () => {
    if (context.available) await server.close();
  });

  test.runIf(context.available)(
    "are masked in the annotations, events, log chunks and runner batches stored",
    async () => {
      const { dir: work } = await committed({ ".github/workflows/cmds.yml": WORKFLOW }, "cmds");
      await git(work, "push", "-q", server.gitUrl("app"), "main");
      await server.service.idle();
      const { db } = context.store;
      const annotations = await db.selectFrom("annotations").selectAll().orderBy("id").execute();
      const tables: [string, unknown[]][] = [
        ["annotations", annotations],
        ["events", await db.selectFrom("events").selectAll().execute()],
        ["log_chunks", await db.selectFrom("log_chunks").selectAll().execute()],
        ["queue_batches", await db.selectFrom("queue_batches").selectAll().execute()],
      ];
      const forms = [
        SECRET,
        encodeURIComponent(SECRET),
        Buffer.from(SECRET).toString("base64").slice(0, 20),
        NUMBER,
      ];
      for (const [table, rows] of tables) {
        const text = JSON.stringify(rows);
        for (const form of forms) expect(text.includes(form), `${form} in ${table}`).toBe(false);
      }
      expect(
        annotations.map((a) => [a.level, a.message, a.title, a.file, a.line, a.column]),
      ).toEqual([
        ["notice", "notice message", "t-***", "***", 1, null],
        ["warning", "warning message", "***", "src/***.ts", 2, null],
        ["error", "error message", null, "***", null, null],
        ["warning", "legacy message", null, "***", 6, null],
      ]);
      const [run] = (await server.api("viewer", "GET", "/api/v1/repositories/app/runs")).body;
      const job = (await server.api("viewer", "GET", `/api/v1/runs/${run.id}`)).body.jobs[0];
      const log = (await server.api("viewer", "GET", `/api/v1/jobs/${job.id}/logs`)).body;
      expect(log.lines.join("\n")).toContain("debug ***");
      expect(server.errors).toEqual([]);
    },
  );
});
