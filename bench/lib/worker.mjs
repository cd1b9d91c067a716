/**
 * Worker entry: `node worker.mjs <module url> <task> <input json>` runs one exported task of a
 * bench module and prints its result as the last line of stdout, with the process's peak RSS.
 */
const [moduleUrl, task, input] = process.argv.slice(2);
const module = await import(moduleUrl);
const run = module.tasks?.[task];
if (typeof run !== 'function') {
  process.stderr.write(`no task "${task}" in ${moduleUrl}\n`);
  process.exit(2);
}
const result = await run(JSON.parse(input ?? '{}'));
// maxRSS is in KiB: the peak resident set of this whole process.
const peakRssMiB = process.resourceUsage().maxRSS / 1024;
process.stdout.write(`\n${JSON.stringify({ ...result, peakRssMiB })}\n`);
