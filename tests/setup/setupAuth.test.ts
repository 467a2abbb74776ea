import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { SignJWT, importJWK, importPKCS8, jwtVerify, type JWK } from "jose";
import { parseSetupAuthArgs, setupAuth, type ConvexRunner } from "../../tools/setup/setupAuth";

/** A stand-in deployment: env vars in a map, every CLI call recorded. */
function fakeDeployment(initial: Record<string, string> = {}) {
  const env = new Map(Object.entries(initial));
  const calls: string[][] = [];
  const run: ConvexRunner = (args, input) => {
    calls.push(args);
    const name = args.at(-1)!;
    if (args[1] === "get") return { status: 0, stdout: env.has(name) ? `${env.get(name)}\n` : "", stderr: env.has(name) ? "" : `Environment variable "${name}" not found` };
    env.set(name, input ?? "");
    return { status: 0, stdout: "", stderr: `Successfully set ${name}` };
  };
  return { env, calls, run };
}

describe("setup:auth", () => {
  it("sets a key pair that Convex Auth can sign and verify with, and the admin allowlist", async () => {
    const deployment = fakeDeployment();
    const result = await setupAuth({ adminEmails: ["Ada@Example.com"], deploymentArgs: [], force: false }, deployment.run);
    expect(result).toEqual({ set: ["JWT_PRIVATE_KEY", "JWKS", "ADMIN_EMAILS"], kept: [], adminEmails: "ada@example.com" });
    // Convex Auth reads the key with newlines replaced by spaces, as here.
    const pkcs8 = deployment.env.get("JWT_PRIVATE_KEY")!;
    expect(pkcs8).toMatch(/^-----BEGIN PRIVATE KEY----- \S/);
    const token = await new SignJWT({ sub: "user|session" }).setProtectedHeader({ alg: "RS256" }).sign(await importPKCS8(pkcs8.replace(/ (?!PRIVATE|KEY)/g, "\n"), "RS256"));
    const jwks = JSON.parse(deployment.env.get("JWKS")!) as { keys: (JWK & { use: string })[] };
    expect(jwks.keys[0].use).toBe("sig");
    const { payload } = await jwtVerify(token, await importJWK(jwks.keys[0], "RS256"));
    expect(payload.sub).toBe("user|session");
    // Secrets travel on stdin: no call carries a value in its arguments.
    expect(deployment.calls.filter((args) => args[1] === "set")).toEqual([
      ["env", "set", "JWT_PRIVATE_KEY"],
      ["env", "set", "JWKS"],
      ["env", "set", "ADMIN_EMAILS"],
    ]);
  });

  it("keeps existing keys unless --force, since new keys sign every user out", async () => {
    const deployment = fakeDeployment({ JWT_PRIVATE_KEY: "old", JWKS: "old-jwks", ADMIN_EMAILS: "a@b.c" });
    const kept = await setupAuth({ adminEmails: [], deploymentArgs: ["--prod"], force: false }, deployment.run);
    expect(kept).toEqual({ set: [], kept: ["JWT_PRIVATE_KEY", "JWKS"], adminEmails: "a@b.c" });
    expect(deployment.env.get("JWT_PRIVATE_KEY")).toBe("old");
    expect(deployment.calls.every((args) => args.includes("--prod"))).toBe(true);
    const forced = await setupAuth({ adminEmails: [], deploymentArgs: [], force: true }, deployment.run);
    expect(forced.set).toEqual(["JWT_PRIVATE_KEY", "JWKS"]);
    expect(deployment.env.get("JWT_PRIVATE_KEY")).not.toBe("old");
  });

  it("refuses what is not an email, and says to run convex dev first when there is no deployment", async () => {
    await expect(setupAuth({ adminEmails: ["not-an-email"], deploymentArgs: [], force: false }, fakeDeployment().run)).rejects.toThrow(
      '--admin takes an email address, got "not-an-email"',
    );
    const noDeployment: ConvexRunner = () => ({ status: 1, stdout: "", stderr: "No CONVEX_DEPLOYMENT set" });
    await expect(setupAuth({ adminEmails: [], deploymentArgs: [], force: false }, noDeployment)).rejects.toThrow(/Run `npx convex dev` once first/);
  });

  it("parses --admin (repeated or comma-separated), --prod, --deployment and --force", () => {
    expect(parseSetupAuthArgs(["--admin", "a@x.io,b@x.io", "--admin", "c@x.io", "--deployment", "dev/ada", "--force"])).toEqual({
      adminEmails: ["a@x.io", "b@x.io", "c@x.io"],
      deploymentArgs: ["--deployment", "dev/ada"],
      force: true,
    });
    expect(() => parseSetupAuthArgs(["--prod", "--deployment", "x"])).toThrow("give --prod or --deployment, not both");
    expect(() => parseSetupAuthArgs(["--admins", "x"])).toThrow(/Unknown option '--admins'/);
  });

  it("runs as `npm run setup:auth`, passing values to the Convex CLI on stdin", () => {
    const dir = mkdtempSync(join(tmpdir(), "setup-auth-"));
    const log = join(dir, "calls.log");
    const fakeCli = join(dir, "convex");
    // Records each call and its stdin; `env get` answers as for a fresh deployment.
    writeFileSync(fakeCli, `#!/bin/sh\nprintf '%s|' "$@" >> "${log}"\nif [ "$2" = set ]; then printf '<' >> "${log}"; cat >> "${log}"; printf '>' >> "${log}"; fi\necho >> "${log}"\n`);
    chmodSync(fakeCli, 0o755);
    const script = resolve(import.meta.dirname, "../../tools/setup/setupAuth.ts");
    const run = spawnSync(process.execPath, ["--import", "tsx", script, "--admin", "ada@example.com"], { env: { ...process.env, CONVEX_CLI: fakeCli }, encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("set JWT_PRIVATE_KEY\nset JWKS\nset ADMIN_EMAILS\n");
    const lines = readFileSync(log, "utf8").trim().split("\n");
    expect(lines[0]).toBe("env|get|JWT_PRIVATE_KEY|");
    expect(lines.find((line) => line.startsWith("env|set|JWT_PRIVATE_KEY|"))).toMatch(/<-----BEGIN PRIVATE KEY----- .+>$/);
    expect(lines.at(-1)).toBe("env|set|ADMIN_EMAILS|<ada@example.com>");
    const failed = spawnSync(process.execPath, ["--import", "tsx", script, "--admin", "nope"], { env: { ...process.env, CONVEX_CLI: fakeCli }, encoding: "utf8" });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toBe('setup:auth: --admin takes an email address, got "nope"\n');
  });
});
