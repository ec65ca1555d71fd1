import { ApiError } from "../common/errors.js";
import type { JobResult } from "../runner/job-runner.js";
import {
  AGENT_PROTOCOL,
  AGENT_PROTOCOL_HEADER,
  type AgentLease,
  type AgentTransport,
  type EventBatch,
  type HeartbeatAnswer,
  type TimedRunnerEvent,
} from "./agent-protocol.js";

/**
 * The agent protocol over HTTP, with the runner token as bearer. A claim long-polls (the
 * server answers as soon as a job fits, or 204 after `waitMs`); a write answered 409 means
 * the lease is gone, and so does 401 or 403 (this runner was removed, or the lease is not
 * its own): retrying cannot change either. So does any other refusal of a write (400: a
 * report the server will not take, 413: too large), which `onRefused` hears with the
 * server's reason. Anything else that goes wrong (no answer, 5xx, 408, 429) throws, and the
 * agent retries.
 */
export class HttpTransport implements AgentTransport {
  constructor(
    private readonly server: string,
    private readonly token: string,
    private readonly waitMs = 25_000,
    private readonly onRefused: (what: string, reason: string) => void = () => undefined,
  ) {}

  async claim(signal: AbortSignal): Promise<AgentLease | undefined> {
    const response = await this.post("/api/v1/agent/claim", { waitMs: this.waitMs }, signal);
    if (response.status === 204) return undefined;
    if (!response.ok) throw await failure(response);
    return (await response.json()) as AgentLease;
  }

  async send(
    lease: AgentLease,
    seq: number,
    events: readonly TimedRunnerEvent[],
  ): Promise<boolean> {
    return this.fenced(`/api/v1/agent/jobs/${lease.entryId}/events`, {
      token: lease.token,
      seq,
      events,
    });
  }

  async heartbeat(lease: AgentLease): Promise<HeartbeatAnswer> {
    const response = await this.post(`/api/v1/agent/jobs/${lease.entryId}/heartbeat`, {
      token: lease.token,
    });
    if (await this.gone(response, "a heartbeat")) return { held: false, cancel: false };
    if (!response.ok) throw await failure(response);
    return (await response.json()) as HeartbeatAnswer;
  }

  async complete(lease: AgentLease, result: JobResult, tail: EventBatch): Promise<boolean> {
    return this.fenced(
      `/api/v1/agent/jobs/${lease.entryId}/complete`,
      completion(lease, result, tail),
    );
  }

  async completeAndClaim(
    lease: AgentLease,
    result: JobResult,
    tail: EventBatch,
  ): Promise<{ held: boolean; next?: AgentLease }> {
    const response = await this.post(`/api/v1/agent/jobs/${lease.entryId}/complete`, {
      ...completion(lease, result, tail),
      claim: true,
    });
    if (await this.gone(response, "the job's result")) return { held: false };
    if (!response.ok) throw await failure(response);
    const body = (await response.json()) as { next?: AgentLease };
    return { held: true, ...(body.next ? { next: body.next } : {}) };
  }

  private async fenced(path: string, body: unknown): Promise<boolean> {
    const response = await this.post(path, body);
    if (await this.gone(response, path.endsWith("/complete") ? "the job's result" : "a report"))
      return false;
    if (!response.ok) throw await failure(response);
    await response.arrayBuffer();
    return true;
  }

  /**
   * Whether the server will not take this write, now or ever: the lease is gone (409, 401,
   * 403), or it refuses the write itself (any other 4xx but 408 and 429), which
   * `onRefused` hears. The answer is read either way.
   */
  private async gone(response: Response, what: string): Promise<boolean> {
    if (leaseGone(response)) {
      await response.arrayBuffer();
      return true;
    }
    const { status } = response;
    if (status < 400 || status >= 500 || status === 408 || status === 429) return false;
    this.onRefused(what, (await failure(response)).message);
    return true;
  }

  private async post(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    // A signal of its own per request, linked to the caller's and unlinked after, so a
    // long-lived stop signal does not collect a listener per request.
    const own = new AbortController();
    const abort = () => own.abort();
    signal?.addEventListener("abort", abort, { once: true });
    try {
      return await fetch(`${this.server}${path}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${this.token}`,
          "content-type": "application/json",
          [AGENT_PROTOCOL_HEADER]: String(AGENT_PROTOCOL),
        },
        body: JSON.stringify(body),
        signal: own.signal,
      });
    } catch (err) {
      if ((err as Error).name === "AbortError") throw err;
      throw new ApiError(
        `cannot reach ${this.server}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`,
      );
    } finally {
      signal?.removeEventListener("abort", abort);
    }
  }
}

/** Whether the server says the lease is not this agent's any more (stop the job). */
function leaseGone(response: Response): boolean {
  return response.status === 409 || response.status === 401 || response.status === 403;
}

/** The body of a completion: the result, and the events not sent yet. */
function completion(lease: AgentLease, result: JobResult, tail: EventBatch) {
  return {
    token: lease.token,
    result,
    ...(tail.events.length > 0 ? { final: tail } : {}),
    sent: tail.seq,
  };
}

async function failure(response: Response): Promise<ApiError> {
  const text = await response.text();
  let message = `${response.status} ${response.statusText}`;
  let code: string | undefined;
  try {
    const body = JSON.parse(text) as { message?: string; code?: string };
    message = body.message ?? message;
    code = body.code;
  } catch {
    // not JSON
  }
  return new ApiError(message, response.status, code);
}
