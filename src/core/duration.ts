/**
 * The one duration grammar of leakhunt: a playbook's `timeout:`/`delay:`, every step's duration
 * in `with`, `--input` values that reach them, `--command-timeout`, and a scenario's lifetimes
 * all read durations here, so a form accepted in one place is accepted in all.
 *
 * A duration is a number (decimals allowed) with an optional unit, spaces allowed between:
 * `500ms`, `30s`, `1.5 m`, `2 mins`, `5minutes`, `1h`, `2 days`. A bare number is milliseconds.
 */

// Unit words and their length in milliseconds; the schema pattern is built from the same table.
const units: readonly (readonly [readonly string[], number])[] = [
  [['ms', 'msec', 'msecs', 'millisecond', 'milliseconds'], 1],
  [['s', 'sec', 'secs', 'second', 'seconds'], 1000],
  [['m', 'min', 'mins', 'minute', 'minutes'], 60_000],
  [['h', 'hr', 'hrs', 'hour', 'hours'], 3_600_000],
  [['d', 'day', 'days'], 86_400_000],
];

const unitMs = new Map(units.flatMap(([words, factor]) => words.map((word) => [word, factor] as const)));

// Longest words first, so `ms` is not read as `m` followed by junk.
const unitAlternation = [...unitMs.keys()].sort((a, b) => b.length - a.length).join('|');

/** The JSON Schema `pattern` of a duration written as text (case-sensitive: units are lower case). */
export const durationPattern = `^\\s*\\d+(\\.\\d+)?\\s*(${unitAlternation})?\\s*$`;

const durationRegex = new RegExp(`^\\s*(\\d+(?:\\.\\d+)?)\\s*(${unitAlternation})?\\s*$`);

/** What a duration looks like, for messages and schema titles. */
export const durationForms = 'a duration such as 500ms, 30s, 2m, 1.5h or 2 minutes (a bare number is milliseconds)';

/** Milliseconds of a duration (text or a number of milliseconds), or undefined when it is not one. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = durationRegex.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * (match[2] === undefined ? 1 : unitMs.get(match[2])!);
}
