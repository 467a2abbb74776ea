import type { Role, SignUpMode } from "./shapes.ts";

export type SignUpDecision = { kind: "create"; role: Role | null } | { kind: "refuse"; message: string };

/** One spelling per address: accounts, invitations and ADMIN_EMAILS all compare this form. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** ADMIN_EMAILS as set with `npx convex env set` (comma- or space-separated, any case). */
export function parseAdminEmails(value: string): Set<string> {
  return new Set(
    value
      .split(/[\s,]+/)
      .map(normalizeEmail)
      .filter((email) => email !== ""),
  );
}

/**
 * What a new account gets. An email in ADMIN_EMAILS becomes admin (the way
 * a fresh deployment gets its first admin); an invited one gets the
 * invitation's role; anyone else gets no role, or is refused when sign-up is
 * invite-only.
 */
export function signUpDecision(input: { email: string; adminEmails: string; invitedRole: Role | null; signUp: SignUpMode }): SignUpDecision {
  if (parseAdminEmails(input.adminEmails).has(input.email)) return { kind: "create", role: "admin" };
  if (input.invitedRole !== null) return { kind: "create", role: input.invitedRole };
  if (input.signUp === "invite") {
    return { kind: "refuse", message: `Sign-up on this deployment is by invitation only: ask an admin to invite ${input.email}.` };
  }
  return { kind: "create", role: null };
}
