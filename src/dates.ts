/** UTC calendar days (YYYY-MM-DD), the unit of every date filter and chart. */

export function todayUtc(now = Date.now()): string {
  return new Date(now).toISOString().slice(0, 10);
}

export function shiftDay(day: string, days: number): string {
  const time = Date.parse(`${day}T00:00:00Z`) + days * 86_400_000;
  return new Date(time).toISOString().slice(0, 10);
}

/** First millisecond of the day, or undefined for an empty input. */
export function dayStartMs(day: string): number | undefined {
  if (!day) return undefined;
  const time = Date.parse(`${day}T00:00:00Z`);
  return Number.isNaN(time) ? undefined : time;
}

/** Last millisecond of the day, so a "to" filter includes the whole day. */
export function dayEndMs(day: string): number | undefined {
  const start = dayStartMs(day);
  return start === undefined ? undefined : start + 86_399_999;
}

export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

/** What is wrong with a range of epoch milliseconds (either end may be open), or null. */
export function rangeProblem(from: number | undefined, to: number | undefined): string | null {
  return from !== undefined && to !== undefined && from > to ? "The start date is after the end date." : null;
}
