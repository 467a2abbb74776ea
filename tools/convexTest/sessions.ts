/**
 * Signed-in callers without the password flow (tested on its own): a user
 * document and an auth session, and the subject Convex Auth puts in its JWTs
 * (`userId|sessionId`), which is what getAuthUserId reads.
 */
import type { Id } from "../../convex/_generated/dataModel";
import type { Role } from "../../convex/lib/shapes.ts";
import type { ConvexTestBackend } from "./backend.ts";

export interface Session {
  userId: Id<"users">;
  subject: string;
}

/** A new session for an existing user. */
export async function startSession(t: ConvexTestBackend, userId: Id<"users">, lifetimeMs = 3_600_000): Promise<Session> {
  const sessionId = await t.run(async (ctx) => ctx.db.insert("authSessions", { userId, expirationTime: Date.now() + lifetimeMs }));
  return { userId, subject: `${userId}|${sessionId}` };
}

/** A new user with `role` (none when null) and a session for them. */
export async function createUserSession(
  t: ConvexTestBackend,
  user: { email: string; role: Role | null; name?: string },
  lifetimeMs?: number,
): Promise<Session> {
  const userId = await t.run(async (ctx) =>
    ctx.db.insert("users", { email: user.email, ...(user.name === undefined ? {} : { name: user.name }), ...(user.role === null ? {} : { role: user.role }) }),
  );
  return startSession(t, userId, lifetimeMs);
}
