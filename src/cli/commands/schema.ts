/**
 * `leakhunt schema`: the playbook schema with every provider's `with` folded in, for editors
 * (`# yaml-language-server: $schema=…`).
 */
import type { Command } from 'commander';
import { combinedSchema } from '../../core/combined-schema.js';
import { collect, loadPlugins } from '../output.js';

/** Add the schema command. */
export function register(program: Command): void {
  program
    .command('schema')
    .description('Print the playbook JSON Schema with every installed provider\'s with: folded in')
    .option('--plugins <dir|package>', 'also load plugins from this folder or installed package (repeatable; leakhunt.config.yaml can name them too)', collect, [])
    .addHelpText('after', `
Examples:
  $ leakhunt schema > playbook.schema.json
  then start a playbook with:  # yaml-language-server: $schema=./playbook.schema.json`)
    .action(async (options: { plugins: string[] }) => {
      const registry = await loadPlugins(options.plugins);
      if (!registry) return;
      process.stdout.write(`${JSON.stringify(combinedSchema(registry), null, 2)}\n`);
    });
}
