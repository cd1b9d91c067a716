/**
 * `leakhunt validate <playbook…>`: load and check playbooks completely, without a target.
 */
import type { Command } from 'commander';
import { loadPlaybook, sortErrors } from '../../core/load.js';
import { errUsage } from '../../core/errors.js';
import { collect, exitCodes, formatError, loadPlugins, printErrors, projectPlaybook, projectPlaybooks, reportFailure } from '../output.js';

/** Add the validate command. */
export function register(program: Command): void {
  program
    .command('validate')
    .description('Check playbooks (YAML, schema, step names, with:, expressions, includes) without a target')
    .argument('[playbook...]', 'playbook files (default: every playbook in leakhunt.config.yaml\'s playbook folders)')
    .option('--plugins <dir|package>', 'also load plugins from this folder or installed package (repeatable; leakhunt.config.yaml can name them too)', collect, [])
    .option('--json', 'print the problems as JSON')
    .addHelpText('after', `
Examples:
  $ leakhunt validate playbooks/find-pool-leak.yaml
  $ leakhunt validate playbooks/*.yaml --plugins ./my-plugins

Every problem is reported at once with file:line:col, a code frame and a hint.
Exit code 2 when any playbook is invalid.`)
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
      for (const file of files) {
        const result = loadPlaybook(file, { registry });
        const errors = sortErrors(result.errors);
        if (errors.length > 0) invalid = true;
        if (options.json) {
          report.push({ file, valid: errors.length === 0, errors: errors.map((e) => e.toJSON()), warnings: result.warnings.map((w) => w.toJSON()) });
          continue;
        }
        for (const warning of result.warnings) process.stderr.write(`${formatError(warning, 'warning')}\n\n`);
        if (errors.length > 0) printErrors(errors);
        else process.stdout.write(`ok  ${file}: ${result.playbook!.steps.length} steps, ${result.playbook!.always.length} cleanup steps\n`);
      }
      if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      process.exitCode = invalid ? exitCodes.invalid : exitCodes.ok;
    });
}
