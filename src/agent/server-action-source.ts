import { gitConfigEnv } from "../actions/action-git.js";
import type { ActionSource, Located, Missed } from "../actions/action-sources.js";

/**
 * An agent's actions from its server, which needs no internet of the agent: the server
 * resolves the ref from its own sources (fetching the commit into its store), then the agent
 * fetches that commit from the server over git, with its runner token.
 */
export class ServerActionSource implements ActionSource {
  private readonly server: string;

  constructor(
    server: string,
    private readonly token: string,
  ) {
    this.server = server.replace(/\/+$/, "");
  }

  place(owner: string, repo: string): string {
    return `${this.server}/_actions/${owner}/${repo}.git`;
  }

  async locate(owner: string, repo: string, ref: string): Promise<Located | Missed> {
    // A ref's segments go into the URL: none may be empty, `.` or `..` (which fetch resolves).
    if (ref.split("/").some((s) => s === "" || s === "." || s === ".."))
      return { missed: `'${ref}' is not a ref` };
    const path = [owner, repo, "commits", ...ref.split("/")].map(encodeURIComponent).join("/");
    let answer: Response;
    try {
      answer = await fetch(`${this.server}/api/v1/actions/${path}`, {
        headers: { authorization: `Bearer ${this.token}` },
        signal: AbortSignal.timeout(300_000),
      });
    } catch (err) {
      return { missed: `${this.server}: ${(err as Error).message}` };
    }
    const body = (await answer.json().catch(() => ({}))) as { sha?: string; message?: string };
    if (!answer.ok || !body.sha)
      return { missed: `the server (${this.server}) says: ${body.message ?? answer.statusText}` };
    if (!/^[0-9a-f]{40}$/.test(body.sha))
      return { missed: `the server (${this.server}) answered '${body.sha}', not a commit` };
    return {
      commit: body.sha,
      from: this.place(owner, repo),
      env: gitConfigEnv({ "http.extraHeader": `Authorization: Bearer ${this.token}` }),
    };
  }
}
