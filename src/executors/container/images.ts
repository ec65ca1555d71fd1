import { relative } from "node:path";
import type Docker from "dockerode";
import { create as createTar } from "tar";
import { ContainerError } from "../../common/errors.js";
import { engineMessage } from "./start-container.js";

/** Registry credentials for a pull (`container.credentials` / `services.*.credentials`). */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** The registry an image reference names: its first part when that looks like a host, else Docker Hub. */
export function registryOf(image: string): string {
  const first = image.split("/")[0] ?? "";
  return image.includes("/") &&
    (first.includes(".") || first.includes(":") || first === "localhost")
    ? first
    : "docker.io";
}

/**
 * Makes sure `image` is in the engine: used as it is when present (the engine already has
 * it, as on a runner that pulled it before), pulled otherwise, with `credentials` when given.
 * Resolves to the image's inspection (its env, health check). Progress lines go to `log`.
 */
export async function ensureImage(
  docker: Docker,
  image: string,
  credentials: RegistryCredentials | undefined,
  log: (line: string) => void,
): Promise<Docker.ImageInspectInfo> {
  const present = await docker
    .getImage(image)
    .inspect()
    .catch(() => undefined);
  if (present) return present;
  log(`Pulling ${image}`);
  try {
    const stream = await docker.pull(image, {
      ...(credentials
        ? {
            authconfig: {
              username: credentials.username,
              password: credentials.password,
              serveraddress: registryOf(image),
            },
          }
        : {}),
    });
    await follow(docker, stream, () => undefined);
  } catch (err) {
    throw new ContainerError(`cannot pull image '${image}': ${engineMessage(err)}`, { cause: err });
  }
  return docker.getImage(image).inspect();
}

/**
 * Builds `dockerfile` with `contextDir` as its context and tags the result `tag`, as
 * `docker build -t tag -f dockerfile contextDir` would. The build's output goes to `log`,
 * line by line; a failed build rejects with its last error.
 */
export async function buildImage(
  docker: Docker,
  contextDir: string,
  dockerfile: string,
  tag: string,
  log: (line: string) => void,
): Promise<void> {
  const context = createTar({ cwd: contextDir, portable: true }, ["."]);
  try {
    const stream = await docker.buildImage(context as unknown as NodeJS.ReadableStream, {
      t: tag,
      dockerfile: relative(contextDir, dockerfile),
      rm: true,
      forcerm: true,
    });
    await follow(docker, stream, (event) => {
      const text = typeof event.stream === "string" ? event.stream : "";
      for (const line of text.split("\n")) if (line.trim()) log(line.trimEnd());
    });
  } catch (err) {
    throw new ContainerError(`cannot build '${dockerfile}': ${engineMessage(err)}`, { cause: err });
  }
}

/** Follows a pull or build progress stream to its end; an `error` event in it rejects. */
function follow(
  docker: Docker,
  stream: NodeJS.ReadableStream,
  onEvent: (event: Record<string, unknown>) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let failure: string | undefined;
    docker.modem.followProgress(
      stream,
      (err) => {
        if (err) reject(err);
        else if (failure) reject(new Error(failure));
        else resolve();
      },
      (event: Record<string, unknown>) => {
        if (typeof event.error === "string") failure = event.error;
        onEvent(event);
      },
    );
  });
}
