import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ApiError, InputError } from "../common/errors.js";
import type { ArtifactRecord } from "../runner/actions/builtin/artifact-store.js";
import type { RunArtifacts } from "../runner/actions/builtin/run-artifacts.js";
import type { RuntimeScope } from "./runtime-token.js";

const TWIRP = "twirp/github.actions.results.api.v1.ArtifactService/";

/** An artifact as the service's ListArtifacts returns it. */
interface Monolith {
  readonly database_id: string;
  readonly name: string;
  readonly size: string;
  readonly created_at?: string;
  readonly digest?: string;
}

/**
 * A run's artifacts on a server's artifact service, for the built-in upload and download
 * actions of a remote agent's job: the same Twirp calls and signed URLs `@actions/artifact`
 * uses, with the job's runtime token, so they meet the toolkit's artifacts of the run and
 * those of jobs on other agents. Archives pass through `scratch`, a directory of the agent.
 */
export class RemoteArtifacts implements RunArtifacts {
  constructor(
    private readonly options: {
      /** The service's base (`ACTIONS_RESULTS_URL`), ending with `/`. */
      readonly resultsUrl: string;
      readonly token: string;
      readonly scope: RuntimeScope;
      readonly scratch: string;
    },
  ) {}

  async list(): Promise<ArtifactRecord[]> {
    const { artifacts = [] } = (await this.call("ListArtifacts", {})) as {
      artifacts?: Monolith[];
    };
    return artifacts.map(toRecord).sort((a, b) => a.id - b.id);
  }

  async get(name: string): Promise<ArtifactRecord | undefined> {
    const { artifacts = [] } = (await this.call("ListArtifacts", { name_filter: name })) as {
      artifacts?: Monolith[];
    };
    const found = artifacts.find((a) => a.name === name);
    return found ? toRecord(found) : undefined;
  }

  async checkFree(name: string, overwrite: boolean): Promise<void> {
    if (!overwrite && (await this.get(name))) {
      throw new InputError(
        `an artifact named '${name}' already exists in this run: set 'overwrite: true' to replace it`,
      );
    }
  }

  async temporaryPath(): Promise<string> {
    await mkdir(this.options.scratch, { recursive: true });
    return join(this.options.scratch, `upload-${process.pid}-${crypto.randomUUID()}`);
  }

  async add(
    temporary: string,
    record: Omit<ArtifactRecord, "id" | "format">,
    overwrite: boolean,
  ): Promise<ArtifactRecord> {
    try {
      if (overwrite && (await this.get(record.name))) {
        await this.call("DeleteArtifact", { name: record.name });
      }
      const { signed_upload_url: url } = (await this.call("CreateArtifact", {
        name: record.name,
        version: 7,
        expires_at: record.expiresAt,
      })) as { signed_upload_url: string };
      const size = (await stat(temporary)).size;
      const put = await fetch(url, {
        method: "PUT",
        headers: { "content-length": String(size), "x-ms-blob-type": "BlockBlob" },
        body: Readable.toWeb(createReadStream(temporary)) as ReadableStream,
        duplex: "half",
      } as RequestInit);
      if (put.status !== 201) throw await failure("the upload", put);
      const { artifact_id: id } = (await this.call("FinalizeArtifact", {
        name: record.name,
        size: String(size),
        hash: `sha256:${record.digest}`,
      })) as { artifact_id: string };
      return { ...record, id: Number(id), format: "zip" };
    } finally {
      await rm(temporary, { force: true });
    }
  }

  async open(record: ArtifactRecord) {
    const { signed_url: url } = (await this.call("GetSignedArtifactURL", {
      name: record.name,
    })) as { signed_url: string };
    const got = await fetch(url);
    if (got.status !== 200 || !got.body) throw await failure(`artifact '${record.name}'`, got);
    const path = await this.temporaryPath();
    await pipeline(Readable.fromWeb(got.body as never), createWriteStream(path, { mode: 0o600 }));
    return { path, release: () => rm(path, { force: true }) };
  }

  url(record: ArtifactRecord): string {
    return `${this.options.resultsUrl}api/v1/runs/${this.options.scope.runId}/artifacts/${record.id}/zip`;
  }

  private async call(method: string, body: Record<string, unknown>): Promise<unknown> {
    const res = await fetch(`${this.options.resultsUrl}${TWIRP}${method}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${this.options.token}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        workflow_run_backend_id: this.options.scope.runId,
        workflow_job_run_backend_id: this.options.scope.jobId,
        ...body,
      }),
    });
    if (res.status !== 200) throw await failure(`the artifact service's ${method}`, res);
    return res.json();
  }
}

function toRecord(a: Monolith): ArtifactRecord {
  const created = a.created_at ?? new Date(0).toISOString();
  return {
    id: Number(a.database_id),
    name: a.name,
    size: Number(a.size),
    digest: (a.digest ?? "").replace(/^sha256:/, ""),
    files: 0,
    createdAt: created,
    expiresAt: "",
    format: "zip",
  };
}

/** What a refused call says: the service's own message when it sent one. */
async function failure(what: string, res: Response): Promise<Error> {
  const text = await res.text().catch(() => "");
  let message = text;
  try {
    message = (JSON.parse(text) as { msg?: string }).msg ?? text;
  } catch {}
  // The service's 4xx are the user's (a taken name, a bad one); anything else is ours.
  if (res.status >= 400 && res.status < 500) return new InputError(`${what}: ${message}`);
  return new ApiError(`${what} failed (HTTP ${res.status}): ${message}`, res.status);
}
