import type { ApiClient } from "./api-client.js";

/** A page of `GET /api/v1/jobs/{id}/logs`. */
interface ApiLogPage {
  lines: string[];
  next: number;
  /** Absent from servers older than paging, which sent the whole log at once. */
  more?: boolean;
}

/**
 * Every line of a job's log stored so far, in order, given to `each` a page at a time: the
 * route answers at most a page per request, so this follows `next` until `more` is false.
 */
export async function forEachLogLine(
  api: ApiClient,
  jobId: string,
  each: (line: string) => void,
): Promise<void> {
  for (let from = 0; ; ) {
    const page = await api.request<ApiLogPage>(
      "GET",
      `/api/v1/jobs/${encodeURIComponent(jobId)}/logs?from=${from}`,
    );
    for (const line of page.lines) each(line);
    if (!page.more || page.next <= from) return;
    from = page.next;
  }
}
