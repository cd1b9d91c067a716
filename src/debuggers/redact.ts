/**
 * Connection secrets (`key=…` in `-k net:port=50000,key=1.2.3.4`) must never reach a transcript,
 * a log, a report or an error message. Everything that leaves the debugger layer passes here.
 */

// `key=` (any case, spaces allowed around `=`) up to the next comma, whitespace or quote.
const secretPattern = /(key\s*=\s*)[^,\s"']+/gi;

/** The text with every `key=<secret>` replaced by `key=***`. */
export function redactSecrets(text: string): string {
  return text.replace(secretPattern, '$1***');
}

/** A deep copy of a JSON-like value with every string redacted (for transcript and log records). */
export function redactValue<T>(value: T): T {
  if (typeof value === 'string') return redactSecrets(value) as T;
  if (Array.isArray(value)) return value.map((item) => redactValue(item)) as T;
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) copy[key] = redactValue(item);
    return copy as T;
  }
  return value;
}
