/**
 * `npm run setup:auth [-- --admin you@example.com] [--prod | --deployment NAME] [--force]`
 *
 * Sets what Convex Auth's Password sign-in needs on a deployment, through the
 * Convex CLI: a fresh RS256 key pair as JWT_PRIVATE_KEY and JWKS, and, with
 * --admin, ADMIN_EMAILS (the accounts that become admins when they sign up).
 * SITE_URL is not needed: it is used only by OAuth and magic-link providers.
 *
 * Values go to `convex env set NAME` on stdin, so the private key never
 * appears in a process list or shell history. Existing keys are kept unless
 * --force is given: replacing them signs every user out.
 */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { exportJWK, exportPKCS8, generateKeyPair } from "jose";
import { isStartedScript } from "../startedScript.ts";

export interface AuthKeys {
  JWT_PRIVATE_KEY: string;
  JWKS: string;
}

/** The same key format as `npx @convex-dev/auth`: PKCS#8 on one line, and a JWKS with the public key. */
export async function generateAuthKeys(): Promise<AuthKeys> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const pkcs8 = await exportPKCS8(privateKey);
  const jwk = await exportJWK(publicKey);
  return {
    JWT_PRIVATE_KEY: pkcs8.trimEnd().replace(/\n/g, " "),
    JWKS: JSON.stringify({ keys: [{ use: "sig", ...jwk }] }),
  };
}

/** Runs the Convex CLI with `args` (stdin = `input`); resolves to its exit status and output. */
export type ConvexRunner = (args: string[], input?: string) => { status: number; stdout: string; stderr: string };

export interface SetupAuthOptions {
  /** Emails that become admin on sign-up (ADMIN_EMAILS); left unchanged when empty. */
  adminEmails: string[];
  /** e.g. ["--prod"] or ["--deployment", "joyful-capybara-123"]; empty for the dev deployment in .env.local. */
  deploymentArgs: string[];
  force: boolean;
}

export interface SetupAuthResult {
  set: string[];
  kept: string[];
  /** ADMIN_EMAILS as the deployment now has it ("" when unset). */
  adminEmails: string;
}

export class SetupAuthError extends Error {}

const EMAIL_PATTERN = /^[^\s@,]+@[^\s@,]+$/;

export async function setupAuth(options: SetupAuthOptions, runConvex: ConvexRunner): Promise<SetupAuthResult> {
  const badEmails = options.adminEmails.filter((email) => !EMAIL_PATTERN.test(email));
  if (badEmails.length > 0) throw new SetupAuthError(`--admin takes an email address, got ${badEmails.map((e) => JSON.stringify(e)).join(", ")}`);

  const read = (name: string): string => {
    const result = runConvex(["env", "get", ...options.deploymentArgs, name]);
    if (result.status !== 0) {
      throw new SetupAuthError(
        `\`convex env get ${name}\` failed (exit ${result.status}): ${result.stderr.trim() || result.stdout.trim()}. Run \`npx convex dev\` once first, so this project has a deployment (it writes CONVEX_DEPLOYMENT to .env.local).`,
      );
    }
    return result.stdout.trim();
  };
  const write = (name: string, value: string) => {
    const result = runConvex(["env", "set", ...options.deploymentArgs, name], value);
    if (result.status !== 0) throw new SetupAuthError(`\`convex env set ${name}\` failed (exit ${result.status}): ${result.stderr.trim() || result.stdout.trim()}`);
  };

  const outcome: SetupAuthResult = { set: [], kept: [], adminEmails: "" };
  const hasKeys = read("JWT_PRIVATE_KEY") !== "" || read("JWKS") !== "";
  if (hasKeys && !options.force) {
    outcome.kept.push("JWT_PRIVATE_KEY", "JWKS");
  } else {
    const keys = await generateAuthKeys();
    write("JWT_PRIVATE_KEY", keys.JWT_PRIVATE_KEY);
    write("JWKS", keys.JWKS);
    outcome.set.push("JWT_PRIVATE_KEY", "JWKS");
  }
  if (options.adminEmails.length > 0) {
    outcome.adminEmails = options.adminEmails.map((email) => email.toLowerCase()).join(",");
    write("ADMIN_EMAILS", outcome.adminEmails);
    outcome.set.push("ADMIN_EMAILS");
  } else {
    outcome.adminEmails = read("ADMIN_EMAILS");
  }
  return outcome;
}

export function parseSetupAuthArgs(argv: string[]): SetupAuthOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        admin: { type: "string", multiple: true },
        prod: { type: "boolean" },
        deployment: { type: "string" },
        force: { type: "boolean" },
      },
      strict: true,
    });
  } catch (error) {
    throw new SetupAuthError(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  if (values.prod && values.deployment !== undefined) throw new SetupAuthError("give --prod or --deployment, not both");
  return {
    adminEmails: (values.admin ?? []).flatMap((value) => value.split(",")).map((email) => email.trim()).filter((email) => email !== ""),
    deploymentArgs: values.prod ? ["--prod"] : values.deployment !== undefined ? ["--deployment", values.deployment] : [],
    force: values.force ?? false,
  };
}

/** The project's Convex CLI; CONVEX_CLI replaces it (the tests point it at a recorder). */
function convexRunner(): ConvexRunner {
  const command = process.env.CONVEX_CLI ?? resolve(import.meta.dirname, "..", "..", "node_modules", ".bin", "convex");
  return (args, input) => {
    const result = spawnSync(command, args, { input: input ?? "", encoding: "utf8" });
    if (result.error) throw new SetupAuthError(`could not run the Convex CLI (${command}): ${result.error.message}`);
    return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
  };
}

if (isStartedScript(import.meta.url)) {
  try {
    const options = parseSetupAuthArgs(process.argv.slice(2));
    const result = await setupAuth(options, convexRunner());
    for (const name of result.set) process.stdout.write(`set ${name}\n`);
    if (result.kept.length > 0) process.stdout.write(`kept the existing ${result.kept.join(" and ")} (--force replaces them and signs every user out)\n`);
    process.stdout.write(
      result.adminEmails === ""
        ? "ADMIN_EMAILS is not set, so nobody becomes admin on sign-up: run again with --admin you@example.com.\n"
        : `Accounts that become admin when they sign up: ${result.adminEmails}\n`,
    );
  } catch (error) {
    process.stderr.write(`setup:auth: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
