// "Deploys" the bundle to an environment on this machine: a directory per environment under
// DEPLOY_ROOT, then a smoke test that starts the service from there and checks /healthz.
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const [environment, bundle = "dist"] = process.argv.slice(2);
if (!environment) throw new Error("usage: deploy.js <environment> [bundle]");
const root = process.env.DEPLOY_ROOT ?? join(process.env.RUNNER_TEMP ?? "/tmp", "deployments");
const target = join(root, environment);
rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
cpSync(bundle, target, { recursive: true });
console.log(`deployed to ${target}`);

const port = 20000 + Math.floor(Math.random() * 20000);
const server = spawn(process.execPath, [join(target, "src", "server.js")], {
  env: { ...process.env, PORT: String(port) },
  stdio: "inherit",
});
let ok = false;
for (let i = 0; i < 50 && !ok; i++) {
  await new Promise((r) => setTimeout(r, 100));
  ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
    (r) => r.ok,
    () => false,
  );
}
server.kill();
console.log(
  ok ? `smoke test passed on ${environment}` : `::error::smoke test failed on ${environment}`,
);
process.exit(ok ? 0 : 1);
