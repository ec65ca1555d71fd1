import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ApiError, InputError } from "../common/errors.js";
import { dataDirOf } from "./data-dir.js";

/** Where `trunkline serve` listens by default. */
export const DEFAULT_SERVER = "http://127.0.0.1:8080";

/** How the CLI reaches a server: flags, then the environment, then a local server's admin token. */
export interface ApiTarget {
  readonly server: string;
  readonly token: string;
}

/**
 * The server and token to use: `--server`/`TRUNKLINE_SERVER` (default the local server), and
 * `--token`/`TRUNKLINE_TOKEN`, else the admin token a local `trunkline serve` wrote into its
 * data directory (so a laptop needs no setup).
 */
export function apiTarget(flags: { server?: string; token?: string; dataDir?: string }): ApiTarget {
  const server =
    flags.server !== undefined
      ? serverUrl(flags.server, "--server")
      : process.env.TRUNKLINE_SERVER
        ? serverUrl(process.env.TRUNKLINE_SERVER, "TRUNKLINE_SERVER")
        : DEFAULT_SERVER;
  let token = flags.token ?? process.env.TRUNKLINE_TOKEN;
  if (!token) {
    const file = join(dataDirOf(flags), "admin-token");
    if (existsSync(file)) token = readFileSync(file, "utf8").trim();
  }
  if (!token)
    throw new ApiError(
      "no API token: pass --token, set TRUNKLINE_TOKEN, or run this where 'trunkline serve' keeps its data",
    );
  return { server, token };
}

/**
 * A server's base URL, without a trailing slash. A bare `HOST:PORT` (or `HOST`) means
 * `http://` as it does to curl; anything else must be an http(s) URL. `source` (the flag or
 * variable it came from) is named in the error.
 */
export function serverUrl(value: string, source: string): string {
  const expected = `${source} '${value}': expected http(s)://HOST[:PORT], or HOST:PORT`;
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z\d+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    throw new InputError(expected);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash)
    throw new InputError(expected);
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

/** One Server-Sent Event. */
export interface SseEvent {
  readonly id?: string;
  readonly event: string;
  readonly data: string;
}

/**
 * A small client of the REST API: JSON in and out, bearer token, and errors turned into
 * {@link ApiError}s that carry the server's code and message (never a stack trace).
 */
export class ApiClient {
  constructor(private readonly target: ApiTarget) {}

  /** The server's base URL. */
  get server(): string {
    return this.target.server;
  }

  /** Sends a request; resolves to the JSON answer (undefined for 204), rejects with an ApiError. */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${this.target.token}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    const json = text ? safeJson(text) : undefined;
    if (!response.ok) {
      const problem = json as { code?: string; message?: string } | undefined;
      throw new ApiError(
        `${method} ${path}: ${problem?.message ?? `${response.status} ${response.statusText}`}`,
        response.status,
        problem?.code,
      );
    }
    return json as T;
  }

  /**
   * Reads a Server-Sent Events stream until it ends or `signal` aborts, calling `onEvent` for
   * each event. Reconnects after a dropped connection with `Last-Event-ID`, so nothing is
   * missed or repeated; resolves when the server sends `end`.
   */
  async stream(
    path: string,
    onEvent: (event: SseEvent) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    let lastId: string | undefined;
    for (let attempt = 0; ; attempt++) {
      let ended = false;
      try {
        const response = await this.fetch(path, {
          headers: {
            authorization: `Bearer ${this.target.token}`,
            accept: "text/event-stream",
            ...(lastId ? { "last-event-id": lastId } : {}),
          },
          ...(signal ? { signal } : {}),
        });
        if (!response.ok || !response.body)
          throw new ApiError(
            `GET ${path}: ${response.status} ${response.statusText}`,
            response.status,
          );
        const decoder = new TextDecoder();
        let buffer = "";
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
            const event = parseSse(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            if (event.id !== undefined) lastId = event.id;
            onEvent(event);
            if (event.event === "end") ended = true;
          }
        }
        if (ended) return;
      } catch (err) {
        if (signal?.aborted || (err instanceof ApiError && err.status !== undefined)) throw err;
        if (attempt >= 5) throw err;
      }
      if (ended) return;
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** Math.min(attempt, 4)));
    }
  }

  /** Downloads `path` into `file`; rejects with an ApiError naming the server's answer. */
  async download(path: string, file: string): Promise<void> {
    const response = await this.fetch(path, {
      headers: { authorization: `Bearer ${this.target.token}` },
    });
    if (!response.ok || !response.body) {
      const problem = safeJson(await response.text()) as { code?: string; message?: string };
      throw new ApiError(
        `GET ${path}: ${problem?.message ?? `${response.status} ${response.statusText}`}`,
        response.status,
        problem?.code,
      );
    }
    const { createWriteStream } = await import("node:fs");
    const { Readable } = await import("node:stream");
    const { pipeline } = await import("node:stream/promises");
    await pipeline(
      Readable.fromWeb(response.body as never),
      createWriteStream(file, { mode: 0o600 }),
    );
  }

  private async fetch(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.target.server}${path}`, init);
    } catch (err) {
      if ((err as Error).name === "AbortError") throw err;
      throw new ApiError(
        `cannot reach the server at ${this.target.server} (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}); is 'trunkline serve' running? Set --server or TRUNKLINE_SERVER`,
      );
    }
  }
}

function parseSse(block: string): SseEvent {
  let id: string | undefined;
  let event = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") id = value;
    else if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return { ...(id !== undefined ? { id } : {}), event, data: data.join("\n") };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
