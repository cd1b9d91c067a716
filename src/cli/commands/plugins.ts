/**
 * `leakhunt plugins`: every plugin, the steps it provides, where each provider applies, and
 * its `with` schema.
 */
import type { Command } from 'commander';
import { pluginErrorRows, renderPluginErrorsMarkdown } from '../../core/plugin-errors.js';
import { expandOsRange } from '../../core/versions.js';
import { collect, loadPlugins } from '../output.js';

/** Add the plugins command. */
export function register(program: Command): void {
  program
    .command('plugins')
    .description('List plugins, their steps, version ranges, outputs and with: schemas')
    .option('--json', 'print everything as JSON (schemas included)')
    .option('--schemas', 'print each provider\'s with: schema')
    .option('--errors', 'list the error codes each plugin declares, with what to do about each')
    .option('--markdown', 'with --errors: print them as the Markdown of docs/plugin-errors.md')
    .option('--plugins <dir|package>', 'also load plugins from this folder or installed package (repeatable; leakhunt.config.yaml can name them too)', collect, [])
    .addHelpText('after', `
Examples:
  $ leakhunt plugins
  $ leakhunt plugins --schemas --plugins ./my-plugins
  $ leakhunt plugins --errors

Error codes are namespaced by plugin (pool/NO_FREE_TAGS): runs print and record them that way.`)
    .action(async (options: { json?: boolean; schemas?: boolean; errors?: boolean; markdown?: boolean; plugins: string[] }) => {
      const registry = await loadPlugins(options.plugins);
      if (!registry) return;
      if (options.errors && !options.json) {
        if (options.markdown) {
          process.stdout.write(`${renderPluginErrorsMarkdown(registry.plugins)}\n`);
          return;
        }
        const rows = pluginErrorRows(registry.plugins);
        const out = rows.flatMap((row) => [`${row.code}`, `    ${row.description}`, `    fix: ${row.remedy}`]);
        process.stdout.write(`${out.length ? out.join('\n') : 'no plugin declares error codes'}\n`);
        return;
      }
      if (options.json) {
        const data = registry.plugins.map(({ plugin, source }) => ({
          name: plugin.name,
          version: plugin.version,
          description: plugin.description,
          source,
          errors: pluginErrorRows([{ plugin, source }]),
          steps: plugin.steps.map((p) => ({ uses: p.uses, id: p.id, description: p.description, appliesTo: p.appliesTo ?? {}, priority: p.priority ?? 0, checkMode: typeof p.checkCommands === 'function', outputs: p.outputs, with: p.with })),
        }));
        process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
        return;
      }
      const out: string[] = [];
      for (const { plugin } of registry.plugins) {
        out.push(`${plugin.name}${plugin.version ? ` ${plugin.version}` : ''}${plugin.description ? ` — ${plugin.description}` : ''}`);
        const codes = Object.keys(plugin.errors ?? {}).sort();
        if (codes.length) out.push(`  error codes: ${codes.map((code) => `${plugin.name}/${code}`).join(', ')} (--errors: what to do)`);
        for (const p of plugin.steps) {
          const os = p.appliesTo?.os;
          const range = os === undefined ? 'any os' : expandOsRange(os) === os ? `os ${os}` : `os ${os} (${expandOsRange(os)})`;
          out.push(`  ${p.uses.padEnd(24)} ${p.id.padEnd(16)} ${range}; arch ${p.appliesTo?.arch?.join(',') ?? 'any'}; priority ${p.priority ?? 0}; check mode ${p.checkCommands ? 'yes' : 'no'}`);
          out.push(`      ${p.description}`);
          const outputs = Object.keys(p.outputs);
          if (outputs.length) out.push(`      outputs: ${outputs.join(', ')}`);
          if (options.schemas) out.push(...JSON.stringify(p.with, null, 2).split('\n').map((l) => `      ${l}`));
        }
      }
      if (out.length === 0) out.push('no plugins found');
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
