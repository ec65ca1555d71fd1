/**
 * What a GitHub-format webhook delivery asks for, read from its payload. Pure: the server
 * fetches commits and resolves shas afterwards. Fields are checked, never trusted to exist;
 * a delivery that starts nothing says why.
 */
export type WebhookIntent =
  | {
      readonly kind: "push";
      readonly ref: string;
      readonly before: string;
      readonly after: string;
      /** Files the pushed commits touched, from `commits[]`; undefined when not listed. */
      readonly changedFiles?: readonly string[];
    }
  | {
      readonly kind: "pull_request";
      readonly action: string;
      readonly number: number;
      readonly baseRef: string;
      readonly headRef: string;
      readonly headSha: string;
      /** The head lives in another repository: such runs get no secrets. */
      readonly fromFork: boolean;
    }
  | { readonly kind: "create" | "delete"; readonly ref: string }
  | {
      readonly kind: "workflow_dispatch";
      readonly workflow: string;
      readonly ref: string;
      readonly inputs: Readonly<Record<string, string>>;
    }
  | { readonly kind: "ignored"; readonly reason: string };

/** The repository a delivery is about: `owner/name` and `name`. */
export interface WebhookRepository {
  readonly fullName?: string;
  readonly name?: string;
}

const SHA = /^[0-9a-f]{40}$/;
const ZERO = "0".repeat(40);

/** The repository a payload names, if any. */
export function webhookRepository(payload: Readonly<Record<string, unknown>>): WebhookRepository {
  const repo = record(payload.repository);
  return {
    ...(typeof repo.full_name === "string" ? { fullName: repo.full_name } : {}),
    ...(typeof repo.name === "string" ? { name: repo.name } : {}),
  };
}

/** Reads one delivery (`X-GitHub-Event` and its JSON body). */
export function readWebhook(
  event: string,
  payload: Readonly<Record<string, unknown>>,
): WebhookIntent {
  switch (event) {
    case "push":
      return readPush(payload);
    case "pull_request":
      return readPullRequest(payload);
    case "create":
    case "delete":
      return readRefEvent(event, payload);
    case "workflow_dispatch":
      return readDispatch(payload);
    case "ping":
      return ignored("ping: nothing to run");
    default:
      return ignored(`'${event}' deliveries start no runs here`);
  }
}

function readPush(payload: Readonly<Record<string, unknown>>): WebhookIntent {
  const { ref, before, after } = payload;
  if (typeof ref !== "string" || !ref.startsWith("refs/"))
    return ignored("push: 'ref' must be a full ref (refs/heads/... or refs/tags/...)");
  if (typeof after !== "string" || !SHA.test(after))
    return ignored("push: 'after' must be a 40-character commit sha");
  if (after === ZERO) return ignored(`push: ${ref} was deleted`);
  const previous = typeof before === "string" && SHA.test(before) ? before : ZERO;
  const files = changedFilesOf(payload.commits);
  return {
    kind: "push",
    ref,
    before: previous,
    after,
    ...(files ? { changedFiles: files } : {}),
  };
}

/** The files `commits[]` added, removed or modified; undefined when a commit lists none. */
function changedFilesOf(commits: unknown): string[] | undefined {
  if (!Array.isArray(commits) || commits.length === 0) return undefined;
  const files = new Set<string>();
  for (const commit of commits) {
    const c = record(commit);
    const lists = [c.added, c.removed, c.modified];
    if (!lists.every(Array.isArray)) return undefined;
    for (const list of lists as unknown[][])
      for (const file of list) if (typeof file === "string") files.add(file);
  }
  return [...files].sort();
}

function readPullRequest(payload: Readonly<Record<string, unknown>>): WebhookIntent {
  const action = typeof payload.action === "string" ? payload.action : "";
  const pr = record(payload.pull_request);
  const number = typeof payload.number === "number" ? payload.number : pr.number;
  const base = record(pr.base);
  const head = record(pr.head);
  if (typeof number !== "number" || !Number.isInteger(number) || number < 1)
    return ignored("pull_request: 'number' is missing");
  if (typeof base.ref !== "string" || typeof head.ref !== "string")
    return ignored(
      "pull_request: 'pull_request.base.ref' and 'pull_request.head.ref' are required",
    );
  if (typeof head.sha !== "string" || !SHA.test(head.sha))
    return ignored("pull_request: 'pull_request.head.sha' must be a 40-character commit sha");
  const headRepo = record(head.repo);
  const baseRepo = record(base.repo);
  // A deleted fork has no head repository: treat it as a fork.
  const fromFork =
    head.repo === null ||
    headRepo.fork === true ||
    (typeof headRepo.full_name === "string" &&
      typeof baseRepo.full_name === "string" &&
      headRepo.full_name !== baseRepo.full_name);
  return {
    kind: "pull_request",
    action,
    number,
    baseRef: base.ref,
    headRef: head.ref,
    headSha: head.sha,
    fromFork,
  };
}

function readRefEvent(
  event: "create" | "delete",
  payload: Readonly<Record<string, unknown>>,
): WebhookIntent {
  const { ref, ref_type: type } = payload;
  if (typeof ref !== "string" || ref === "") return ignored(`${event}: 'ref' is missing`);
  if (type !== "branch" && type !== "tag")
    return ignored(`${event}: 'ref_type' must be branch or tag`);
  return { kind: event, ref: `${type === "tag" ? "refs/tags/" : "refs/heads/"}${ref}` };
}

function readDispatch(payload: Readonly<Record<string, unknown>>): WebhookIntent {
  const { workflow, ref } = payload;
  if (typeof workflow !== "string" || workflow === "")
    return ignored("workflow_dispatch: 'workflow' is missing");
  if (typeof ref !== "string" || ref === "") return ignored("workflow_dispatch: 'ref' is missing");
  const inputs: Record<string, string> = {};
  for (const [key, value] of Object.entries(record(payload.inputs)))
    inputs[key] = typeof value === "string" ? value : JSON.stringify(value);
  return { kind: "workflow_dispatch", workflow, ref, inputs };
}

function ignored(reason: string): WebhookIntent {
  return { kind: "ignored", reason };
}

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
