import type { ActionContext, ActionHost, ActionRequest, ActionResult } from "./action-host.js";

/** Where remote actions come from and where resolved ones are kept. */
export interface ActionResolverOptions {
  /** Mirrors: a directory holding `<owner>/<repo>`, or `owner/repo=<dir or git URL>`. */
  readonly mirrors: readonly string[];
  /** Resolved actions, one directory per commit. */
  readonly cacheDir: string;
  readonly repoRoot: string;
  readonly runDir: string;
}

/** Resolves `uses:` to an action and runs it. */
export class ActionResolver implements ActionHost {
  constructor(private readonly options: ActionResolverOptions) {}

  async run(request: ActionRequest, _context: ActionContext): Promise<ActionResult> {
    return {
      ok: false,
      outputs: {},
      message: `cannot resolve action '${request.uses}' (${this.options.mirrors.length} mirrors)`,
    };
  }
}
