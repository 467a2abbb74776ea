/**
 * UTC calendar days as `YYYY-MM-DD` strings: the unit of the analytics
 * counters and of every date range a chart asks for. Strings sort in date
 * order, so they can be index keys.
 */

const DAY_MS = 86_400_000;
const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Longest range a chart may ask for; bounds the counter rows one query reads. */
export const MAX_RANGE_DAYS = 366;

export function utcDay(timestampMs: number): string {
  return new Date(timestampMs).toISOString().slice(0, 10);
}

/** Milliseconds at 00:00:00.000 UTC of the day, or null when `day` is not a real `YYYY-MM-DD` date. */
export function dayStartMs(day: string): number | null {
  const match = DAY_PATTERN.exec(day);
  if (match === null) return null;
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  // Date.UTC rolls 2026-02-31 over to March; a round trip catches it.
  return utcDay(ms) === day ? ms : null;
}

export interface DayRange {
  from: string;
  to: string;
}

/** A checked inclusive range with its bounds in milliseconds ([startMs, endMs)) and its length. */
export interface ResolvedDayRange extends DayRange {
  startMs: number;
  endMs: number;
  dayCount: number;
}

/** Returns the resolved range, or a message naming the bad field, what was expected and what was found. */
export function resolveDayRange(range: DayRange, where = "range", maxDays = MAX_RANGE_DAYS): ResolvedDayRange | string {
  const startMs = dayStartMs(range.from);
  if (startMs === null) return `${where}.from must be a UTC day as YYYY-MM-DD, got "${range.from}"`;
  const toStartMs = dayStartMs(range.to);
  if (toStartMs === null) return `${where}.to must be a UTC day as YYYY-MM-DD, got "${range.to}"`;
  if (toStartMs < startMs) return `${where}.from (${range.from}) must not be after ${where}.to (${range.to})`;
  const dayCount = (toStartMs - startMs) / DAY_MS + 1;
  if (dayCount > maxDays) {
    return `${where} spans ${dayCount} days (${range.from} to ${range.to}); at most ${maxDays} days are allowed`;
  }
  return { from: range.from, to: range.to, startMs, endMs: toStartMs + DAY_MS, dayCount };
}

/** Every day of an inclusive range, in order. */
export function daysOf(range: ResolvedDayRange): string[] {
  const days: string[] = [];
  for (let i = 0; i < range.dayCount; i++) days.push(utcDay(range.startMs + i * DAY_MS));
  return days;
}

/** "2026-12" for a day "2026-12-02". */
export function monthOf(day: string): string {
  return day.slice(0, 7);
}

export interface RangeBuckets {
  /** Inclusive day ranges at the range's ends that do not cover a whole month (zero, one or two). */
  dayRanges: DayRange[];
  /** Inclusive range of whole months inside the range, or null. */
  monthRange: DayRange | null;
}

/**
 * Splits a day range into whole months (read from monthly counters) and the
 * partial months at either end (read from daily counters), so a year-long
 * chart reads about 12 rows per key instead of 365.
 */
export function splitIntoMonths(range: ResolvedDayRange): RangeBuckets {
  const first = new Date(range.startMs);
  const last = new Date(range.endMs - DAY_MS);
  const startsOnFirstDay = first.getUTCDate() === 1;
  const endsOnLastDay = new Date(range.endMs).getUTCDate() === 1;
  const firstWholeMonthStart = startsOnFirstDay ? range.startMs : Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 1);
  const afterLastWholeMonth = endsOnLastDay ? range.endMs : Date.UTC(last.getUTCFullYear(), last.getUTCMonth(), 1);
  if (firstWholeMonthStart >= afterLastWholeMonth) return { dayRanges: [{ from: range.from, to: range.to }], monthRange: null };
  const dayRanges: DayRange[] = [];
  if (firstWholeMonthStart > range.startMs) dayRanges.push({ from: range.from, to: utcDay(firstWholeMonthStart - DAY_MS) });
  if (afterLastWholeMonth < range.endMs) dayRanges.push({ from: utcDay(afterLastWholeMonth), to: range.to });
  return { dayRanges, monthRange: { from: monthOf(utcDay(firstWholeMonthStart)), to: monthOf(utcDay(afterLastWholeMonth - DAY_MS)) } };
}
