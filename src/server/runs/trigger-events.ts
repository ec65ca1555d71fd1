import type { TriggerEvent } from "../../triggers/event.js";
import { changedBetween, commitMessageAt, resolveCommit } from "./git-source.js";

// The trigger events of pushes and manual dispatches, as the server plans runs for them.

const ZERO = "0".repeat(40);

/** One ref a push moved. */
export interface PushedRef {
  readonly ref: string;
  readonly before: string;
  readonly after: string;
}

/** What is known of a push besides its refs. */
export interface PushKnown {
  /** The files it changed, when git cannot tell (a new branch, a mirror's delivery). */
  readonly changedFiles?: readonly string[];
  /** Who pushed (their token's name): `github.actor`, and the run's trigger for reviews. */
  readonly actor?: string;
}

/** A `workflow_dispatch` as asked for. */
export interface DispatchRequest {
  readonly workflow: string;
  readonly ref: string;
  readonly inputs: Readonly<Record<string, string>>;
  /** Who asked (their token's name). */
  readonly actor?: string;
}

/** The `push` event of `update`, with the files it changed and its head commit's message. */
export async function pushEvent(
  bare: string,
  repository: string,
  update: PushedRef,
  known?: PushKnown,
): Promise<TriggerEvent> {
  const changedFiles =
    update.before === ZERO
      ? known?.changedFiles
      : ((await changedBetween(bare, update.before, update.after)) ?? known?.changedFiles);
  const message = await commitMessageAt(bare, update.after);
  return {
    name: "push",
    ref: update.ref,
    sha: update.after,
    repository,
    ...(known?.actor ? { actor: known.actor } : {}),
    ...(changedFiles ? { changedFiles } : {}),
    ...(message !== undefined ? { headCommitMessage: message } : {}),
    payload: {
      ref: update.ref,
      before: update.before,
      after: update.after,
      repository: { name: repository },
      ...(message !== undefined ? { head_commit: { id: update.after, message } } : {}),
    },
  };
}

/** The `workflow_dispatch` event of a request, or why there is none (an unknown ref). */
export async function dispatchEvent(
  bare: string,
  repository: string,
  request: DispatchRequest,
): Promise<TriggerEvent | { errors: string[] }> {
  const ref = request.ref.startsWith("refs/") ? request.ref : `refs/heads/${request.ref}`;
  const sha = await resolveCommit(bare, ref);
  if (!sha) return { errors: [`no ref '${request.ref}' in ${repository}`] };
  return {
    name: "workflow_dispatch",
    ref,
    sha,
    repository,
    inputs: request.inputs,
    ...(request.actor ? { actor: request.actor } : {}),
    payload: {
      ref,
      inputs: request.inputs,
      workflow: request.workflow,
      repository: { name: repository },
    },
  };
}
