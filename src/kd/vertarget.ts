/**
 * `vertarget` under its own module name, for callers that import parsers by command; the
 * parser itself is shared with the banner and `version` in version.ts.
 */
export { parseVertarget, type VersionResult as VertargetResult } from './version.js';
