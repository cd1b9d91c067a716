/**
 * Escaping and number formatting shared by the text, Markdown, HTML and JUnit renderers.
 * Everything that came from the target (tags, frames, kd text) passes through one of the
 * escapers before it reaches a rendered file.
 */

/** A site or culprit as one label: the driver's frame, and the wrapper it allocated through (`… via Wdf01000!FxPoolAllocator+0x81`). */
export function siteLabel(site: { frame: string; via?: string; path?: string }): string {
  const frame = site.path ? `${site.path} → ${site.frame}` : site.frame;
  return site.via ? `${frame} via ${site.via}` : frame;
}

/** Escape text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * Escape text for XML 1.0 content and attributes: the five entities, and characters XML 1.0
 * cannot hold at all (C0 controls other than tab, newline, carriage return) replaced by `?`.
 */
export function escapeXml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '?')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '?')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Escape text for a Markdown table cell or inline text (pipes, backticks, HTML, emphasis). */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>|#]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : `\\${c}`)).replace(/\r?\n/g, ' ');
}

/** A fenced Markdown code block whose fence is longer than any backtick run inside. */
export function markdownCodeBlock(text: string, language = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${language}\n${text}\n${fence}`;
}

/** JSON for a `<script type="application/json">` block: nothing in it can close the element. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** `1234567` → `1.18 MiB`; small values stay in bytes. */
export function formatBytes(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  let value = Math.abs(bytes);
  if (value < 1024) return `${sign}${value} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${sign}${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit]}`;
}

/** Bytes per minute as `12.5 KiB/min`, or `n/a` when unknown. */
export function formatRate(bytesPerMinute: number | null | undefined): string {
  if (bytesPerMinute === null || bytesPerMinute === undefined || !Number.isFinite(bytesPerMinute)) return 'n/a';
  return `${bytesPerMinute > 0 ? '+' : ''}${formatBytes(Math.round(bytesPerMinute))}/min`;
}

/** Milliseconds as `850 ms`, `12.3 s`, `4 min 05 s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes} min ${String(seconds).padStart(2, '0')} s`;
}

/** A whole number with thousands separators (`36405` → `36,405`), independent of locale. */
export function formatCount(value: number): string {
  return String(Math.round(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A tag as kd shows it inside quotes, trailing spaces kept visible: `'Abc '`. */
export function quoteTag(tag: string): string {
  return `'${tag}'`;
}

/** A share as a percentage (`0.734` → `73%`). */
export function formatShare(share: number | undefined): string {
  return share === undefined || !Number.isFinite(share) ? 'n/a' : `${Math.round(share * 100)}%`;
}

/** An allocation rate with its interval: `12.4/min (95%: 3.1–30.2)`. */
export function formatAllocRate(rate: { estimate: number; low: number; high: number } | undefined): string {
  if (!rate) return 'n/a';
  const n = (v: number) => (Math.abs(v) >= 100 ? formatCount(v) : String(Math.round(v * 10) / 10));
  return `${n(rate.estimate)}/min (95%: ${n(rate.low)}–${n(rate.high)})`;
}

/**
 * One site's numbers in words, by the method that measured them, for every renderer: pairing
 * counts what was seen at PoolHitTag breaks and its lifetime-corrected leak rate; retag counts
 * the site's own new tag over time. The two are never mixed in one figure.
 */
export function siteNumbers(site: {
  method: 'pairing' | 'retag' | 'counts';
  allocs: number;
  frees: number;
  outstanding: number;
  outstandingBytes: number;
  retag?: string;
  growthBytesPerMinute?: number;
  growthAllocsPerMinute?: number;
  leaked?: number;
  inFlight?: number;
  normalLifetimeMs?: number;
  leakAllocsPerMinute?: { estimate: number; low: number; high: number };
  explained?: number;
  mismatchedFrees?: number;
}): string {
  const explained = site.explained === undefined ? '' : `; explains ${formatShare(site.explained)} of the tag's growth`;
  if (site.method === 'retag') {
    const perMinute = site.growthAllocsPerMinute === undefined ? '' : `, ${site.growthAllocsPerMinute > 0 ? '+' : ''}${site.growthAllocsPerMinute} allocations/min`;
    const mismatched = site.mismatchedFrees === undefined ? '' : `, ${formatCount(site.mismatchedFrees)} tag-mismatched frees seen`;
    return `retagged as ${quoteTag(site.retag ?? '?')}: ${formatCount(site.outstanding)} outstanding (${formatBytes(site.outstandingBytes)}) of ${formatCount(site.allocs)} allocations of the new tag${perMinute}, ${formatRate(site.growthBytesPerMinute)}${mismatched}${explained} [retag]`;
  }
  const judged =
    site.leaked === undefined
      ? ''
      : ` (${formatCount(site.leaked)} outlived ${site.normalLifetimeMs === undefined ? 'their normal lifetime' : formatDuration(site.normalLifetimeMs)}, ${formatCount(site.inFlight ?? 0)} in flight)`;
  const rate = site.leakAllocsPerMinute ? `; leaks ${formatAllocRate(site.leakAllocsPerMinute)}` : '';
  return `${formatCount(site.allocs)} allocations seen, ${formatCount(site.frees)} freed, ${formatCount(site.outstanding)} alive at the end (${formatBytes(site.outstandingBytes)})${judged}${rate}${explained} [${site.method}]`;
}
