/**
 * What a pure lib function throws when its input is structurally wrong: every
 * problem it found, not only the first, so a caller (a test, the CLI, a
 * Convex function wrapping it in a ConvexError) can show them all.
 */
export class InputProblemsError extends Error {
  constructor(
    readonly problems: string[],
    name: string,
    message = problems.join("; "),
  ) {
    super(message);
    this.name = name;
  }
}
