import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BUSYBOX_IMAGE, testEngine } from "../../../test/helpers/container-engine.js";
import { sqliteDatabase, type TestDatabase } from "../../../test/helpers/databases.js";
import { committed, git } from "../../../test/helpers/git.js";
import { startTestServer, type TestServer } from "../../../test/helpers/server.js";
import { openStore, type Store } from "../../store/open-store.js";

const engine = await testEngine();

describe("the server's runner runs job containers", () => {
  let database: TestDatabase;
  let store: Store;
  let server: TestServer;

  beforeAll(async () => {
    if (!engine) return;
    database = sqliteDatabase();
    store = await openStore(database.options);
    server = await startTestServer(store);
    await server.api("admin", "POST", "/api/v1/repositories", { name: "app" });
  });
  afterAll(async () => {
    if (!engine) return;
    await server.close();
    await store.close();
    await database.drop();
  });

  test.runIf(engine !== undefined)(
    "a job with container: runs its steps inside, on the commit",
    async () => {
      const { dir } = await committed(
        {
          ".github/workflows/ci.yml": [
            "name: CI",
            "on: push",
            "jobs:",
            "  inside:",
            "    runs-on: ubuntu-latest",
            `    container: ${BUSYBOX_IMAGE}`,
            "    steps:",
            "      - shell: sh",
            "        run: |",
            '          test "$GITHUB_WORKSPACE" = /__w/app/app && cat marker.txt',
            '          echo "in a container: $(test -e /run/.containerenv -o -e /.dockerenv && echo yes)"',
            "",
          ].join("\n"),
          "marker.txt": "from the commit\n",
        },
        "container job",
      );
      await git(dir, "push", "-q", server.gitUrl("app"), "main");
      await server.service.idle();
      const [run] = (await server.api("viewer", "GET", "/api/v1/repositories/app/runs")).body;
      const shown = (await server.api("viewer", "GET", `/api/v1/runs/${run.id}`)).body;
      const log = (await server.api("viewer", "GET", `/api/v1/jobs/${shown.jobs[0].id}/logs`)).body;
      expect(run.status, log.lines.join("\n")).toBe("success");
      expect(log.lines).toContain("from the commit");
      expect(log.lines).toContain("in a container: yes");
    },
    120_000,
  );
});
