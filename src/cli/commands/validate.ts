/**
 * `leakhunt validate <file…>`: load and check playbooks, and simulator scenarios, completely,
 * without a target.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadPlaybook, sortErrors } from '../../core/load.js';
import { errUsage } from '../../core/errors.js';
import { collect, exitCodes, formatError, loadPlugins, plural, printErrors, projectPlaybook, projectPlaybooks, reportFailure } from '../output.js';

/** Add the validate command. */
export function register(program: Command): void {
  program
    .command('validate')
    .description('Check playbooks (YAML, schema, step names, with:, expressions, includes) and simulator scenarios without a target')
    .argument('[file...]', 'playbook, scenario or lab inventory files (a scenario has profile: and no steps:, an inventory targets:; default: every playbook in leakhunt.config.yaml\'s playbook folders)')
    .option('--plugins <dir|package>', 'also load plugins from this folder or installed package (repeatable; leakhunt.config.yaml can name them too)', collect, [])
    .option('--json', 'print the problems as JSON')
    .addHelpText('after', `
Examples:
  $ leakhunt validate playbooks/find-pool-leak.yaml
  $ leakhunt validate playbooks/*.yaml --plugins ./my-plugins
  $ leakhunt validate scenarios/two-sites-one-tag.yaml
  $ leakhunt validate scenarios/lab-all-versions.yaml          a lab inventory

Every problem is reported at once with file:line:col, a code frame and a hint. A scenario is
checked as \`run --target sim:<scenario.yaml>\` checks it before starting: schema, profile, unique
module and site ids, [min, max] ranges, tags and durations.
Exit code 2 when any file is invalid.`)
    .action(async (given: string[], options: { plugins: string[]; json?: boolean }) => {
      const registry = await loadPlugins(options.plugins);
      if (!registry) return;
      const files = given.length > 0 ? given.map(projectPlaybook) : projectPlaybooks();
      if (files.length === 0) {
        process.exitCode = reportFailure(errUsage('Expected playbook files to validate, got none', 'name them, or list playbook folders under playbooks: in leakhunt.config.yaml'));
        return;
      }
      let invalid = false;
      const report: unknown[] = [];
      const { isScenarioText, simScenarioErrors } = await import('../../sim/target-spec.js');
      const { isInventoryText, loadInventory } = await import('../../lab/inventory.js');
      for (const file of files) {
        if (isScenario(file, isInventoryText)) {
          const loaded = loadInventory(file);
          if (loaded.errors.length > 0) invalid = true;
          if (options.json) report.push({ file, kind: 'inventory', valid: loaded.errors.length === 0, errors: loaded.errors.map((e) => e.toJSON()), warnings: [] });
          else if (loaded.errors.length > 0) printErrors(loaded.errors);
          else process.stdout.write(`ok  ${file}: lab inventory, ${plural(loaded.inventory!.targets.length, 'target')}\n`);
          continue;
        }
        if (isScenario(file, isScenarioText)) {
          const errors = simScenarioErrors({ scenario: file });
          if (errors.length > 0) invalid = true;
          if (options.json) report.push({ file, kind: 'scenario', valid: errors.length === 0, errors: errors.map((e) => e.toJSON()), warnings: [] });
          else if (errors.length > 0) printErrors(errors);
          else process.stdout.write(`ok  ${file}: scenario\n`);
          continue;
        }
        const result = loadPlaybook(file, { registry });
        const errors = sortErrors(result.errors);
        if (errors.length > 0) invalid = true;
        if (options.json) {
          report.push({ file, kind: 'playbook', valid: errors.length === 0, errors: errors.map((e) => e.toJSON()), warnings: result.warnings.map((w) => w.toJSON()) });
          continue;
        }
        for (const warning of result.warnings) process.stderr.write(`${formatError(warning, 'warning')}\n\n`);
        if (errors.length > 0) printErrors(errors);
        else process.stdout.write(`ok  ${file}: ${plural(result.playbook!.steps.length, 'step')}, ${plural(result.playbook!.always.length, 'cleanup step')}\n`);
      }
      if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      process.exitCode = invalid ? exitCodes.invalid : exitCodes.ok;
    });
}

// A file that reads as a scenario; an unreadable one is left to the playbook loader's message.
function isScenario(file: string, test: (text: string) => boolean): boolean {
  try {
    return test(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}
