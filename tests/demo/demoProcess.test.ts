import { spawn } from "node:child_process";
import { createServer, connect } from "node:net";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const projectRoot = resolve(import.meta.dirname, "../..");

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

async function isListening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
  });
}

describe("npm run demo as a process", () => {
  it("stops, and frees both ports, when npm's own pid is killed", async () => {
    const [appPort, backendPort] = [await freePort(), await freePort()];
    const npm = spawn("npm", ["run", "demo"], { cwd: projectRoot, env: { ...process.env, DEMO_APP_PORT: String(appPort), DEMO_BACKEND_PORT: String(backendPort) }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    npm.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 150_000;
    while (!output.includes("Demo dashboard") && Date.now() < deadline && npm.exitCode === null) await new Promise((r) => setTimeout(r, 250));
    expect(output).toContain("Demo dashboard");
    expect(await isListening(backendPort)).toBe(true);
    expect(await isListening(appPort)).toBe(true);
    npm.kill("SIGTERM");
    let freed = false;
    for (let i = 0; i < 40 && !freed; i++) {
      await new Promise((r) => setTimeout(r, 250));
      freed = !(await isListening(backendPort)) && !(await isListening(appPort));
    }
    expect(freed, `ports ${appPort}/${backendPort} still served after npm was stopped:\n${output}`).toBe(true);
  }, 200_000);
});
