/**
 * Writes report.md, report.html and junit.xml next to report.json, from the JSON files of a
 * run directory alone, so a report can be rebuilt after an upgrade or from a teammate's run.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderHtml } from './html.js';
import { renderJunit, type JunitOptions, type JunitResult } from './junit.js';
import { renderMarkdown } from './markdown.js';
import type { HuntReport } from './model.js';
import { loadRun, type RunData, type TagOptions } from './run-dir.js';

/** Options of renderReports (`leakhunt report` flags). */
export interface RenderOptions extends TagOptions, JunitOptions {}

/** What renderReports wrote. */
export interface RenderResult {
  /** Absolute or run-relative paths of report.md, report.html, junit.xml. */
  files: string[];
  junit: JunitResult;
  data: RunData;
}

// Write through a temporary file and rename, so a reader never sees half a report.
function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}

/**
 * Render the three reports of a run directory (report.json required; stacks.jsonl,
 * transcript.jsonl used when present). `report` is report.json as writeReportJson gave it back,
 * when the caller has just written it.
 */
export async function renderReports(runDir: string, options: RenderOptions = {}, report?: HuntReport): Promise<RenderResult> {
  const data = await loadRun(runDir, options, report);
  const junit = renderJunit(data, options);
  const outputs: [string, string][] = [
    ['report.md', renderMarkdown(data)],
    ['report.html', renderHtml(data)],
    ['junit.xml', junit.xml],
  ];
  const files = outputs.map(([name, text]) => {
    const path = join(runDir, name);
    writeAtomically(path, text);
    return path;
  });
  return { files, junit, data };
}
