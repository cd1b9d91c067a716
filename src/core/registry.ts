/**
 * The plugin registry: plugins found in the package's `plugins/` and in folders the user names
 * with `--plugins`, never through anything a playbook says. Duplicate names are errors; each
 * provider's `with` schema is checked at load and compiled once, when a playbook first uses it.
 *
 * @see ../../docs/plugins.md
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Arch, Plugin, StepProvider } from './types.js';
import { createSchemaCompiler } from './ajv.js';
import type { SchemaCompiler, ValidateFunction } from './ajv.js';
import { errDuplicatePlugin, errPluginLoad, isPlaybookError, PlaybookError } from './errors.js';
import type { ProviderEntry } from './select.js';
import { expandOsRange } from './versions.js';
import { isExplicitPath, resolvePackageSpecifier } from './resolve.js';

/** A plugin and where it came from. */
export interface LoadedPlugin {
  plugin: Plugin;
  /** The file it was loaded from, or `inline` for plugins handed over in code. */
  source: string;
}

/** Every known plugin and provider, with compiled `with` validators. */
export interface Registry {
  readonly plugins: readonly LoadedPlugin[];
  /** Providers of one step name, in load order. */
  providersOf(uses: string): readonly ProviderEntry[];
  /** Every step name, sorted. */
  stepNames(): string[];
  /** The compiled `with` validator of a provider (compiled once, cached). */
  withValidator(provider: StepProvider<any>): ValidateFunction;
}

const archs: readonly Arch[] = ['x86', 'x64', 'arm64'];

// Check one provider's declaration; returns the problems found.
function providerProblems(provider: StepProvider<any>, compiler: SchemaCompiler): string[] {
  const problems: string[] = [];
  const name = `provider "${String(provider?.id)}"`;
  if (typeof provider !== 'object' || provider === null) return ['a provider is not an object'];
  if (typeof provider.uses !== 'string' || !/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/.test(provider.uses)) problems.push(`${name}: uses must look like "area.step-name", got ${JSON.stringify(provider.uses)}`);
  if (typeof provider.id !== 'string' || provider.id === '') problems.push(`${name}: id must be a non-empty string`);
  if (typeof provider.run !== 'function') problems.push(`${name}: run must be a function`);
  if (typeof provider.outputs !== 'object' || provider.outputs === null) problems.push(`${name}: outputs must be an object (use {} for none)`);
  if (provider.appliesTo?.os !== undefined) {
    try {
      expandOsRange(provider.appliesTo.os);
    } catch (error) {
      problems.push(`${name}: appliesTo.os ${(error as Error).message}`);
    }
  }
  for (const arch of provider.appliesTo?.arch ?? []) {
    if (!archs.includes(arch)) problems.push(`${name}: unknown arch "${arch}" (x86, x64, arm64)`);
  }
  const schema = provider.with as Record<string, unknown> | undefined;
  if (typeof schema !== 'object' || schema === null) {
    problems.push(`${name}: with must be a JSON Schema object`);
  } else {
    if (schema.additionalProperties !== false && schema.unevaluatedProperties !== false) {
      problems.push(`${name}: the with schema must reject unknown keys (additionalProperties: false)`);
    }
    try {
      // A built-in schema was compiled strictly at build time; others (a --plugins folder's) are compiled now.
      compiler.check(schema);
    } catch (error) {
      problems.push(`${name}: the with schema does not compile in strict mode: ${(error as Error).message}`);
    }
  }
  return problems;
}

// Check a plugin's error declarations; returns the problems found.
function errorDeclarationProblems(errors: unknown): string[] {
  if (errors === undefined) return [];
  if (typeof errors !== 'object' || errors === null || Array.isArray(errors)) return ['errors must be an object of code → { description, remedy }'];
  const problems: string[] = [];
  for (const [code, declaration] of Object.entries(errors)) {
    if (!/^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/.test(code)) problems.push(`error code "${code}" must be UPPER_SNAKE_CASE`);
    const { description, remedy } = (declaration ?? {}) as Record<string, unknown>;
    if (typeof description !== 'string' || description.trim() === '') problems.push(`error code "${code}" needs a description`);
    if (typeof remedy !== 'string' || remedy.trim() === '') problems.push(`error code "${code}" needs a remedy (what the user should do)`);
  }
  return problems;
}

/** Build a registry from loaded plugins; throws the first PLUGIN_LOAD_FAILED / DUPLICATE_PLUGIN problem. */
export function createRegistry(loaded: readonly LoadedPlugin[]): Registry {
  const compiler = createSchemaCompiler();
  const byName = new Map<string, LoadedPlugin>();
  const byUses = new Map<string, ProviderEntry[]>();
  for (const entry of loaded) {
    const { plugin, source } = entry;
    if (typeof plugin?.name !== 'string' || plugin.name === '') throw errPluginLoad(source, 'the plugin has no name');
    if (!Array.isArray(plugin.steps)) throw errPluginLoad(source, `plugin "${plugin.name}" has no steps array`);
    const earlier = byName.get(plugin.name);
    if (earlier) throw errDuplicatePlugin(plugin.name, earlier.source, source);
    byName.set(plugin.name, entry);
    const errorProblems = errorDeclarationProblems(plugin.errors);
    if (errorProblems.length) throw errPluginLoad(source, `plugin "${plugin.name}": ${errorProblems.join('; ')}`);
    const ids = new Set<string>();
    for (const provider of plugin.steps) {
      const problems = providerProblems(provider, compiler);
      if (ids.has(provider.id)) problems.push(`provider id "${provider.id}" is used twice`);
      if (problems.length) throw errPluginLoad(source, `plugin "${plugin.name}": ${problems.join('; ')}`);
      ids.add(provider.id);
      const list = byUses.get(provider.uses) ?? [];
      list.push({ plugin: plugin.name, provider });
      byUses.set(provider.uses, list);
    }
  }
  return {
    plugins: [...loaded],
    providersOf: (uses) => byUses.get(uses) ?? [],
    stepNames: () => [...byUses.keys()].sort(),
    withValidator: (provider) => compiler.compile(provider.with),
  };
}

// The folder that holds the package's own plugins: <root>/plugins from TypeScript sources,
// <root>/dist/plugins when compiled (this file is src/core/registry.ts or dist/src/core/registry.js).
function builtinPluginFolder(): { dir: string; extension: '.ts' | '.js' } {
  const here = import.meta.url;
  const extension = here.endsWith('.ts') ? '.ts' : '.js';
  return { dir: fileURLToPath(new URL('../../plugins/', here)), extension };
}

// The entry of a package folder (a plugin package being developed, `--plugins .`): its own name
// resolved from inside it (Node's self-reference, through `exports`), else its `main`.
function packageEntry(dir: string): string | undefined {
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest)) return undefined;
  let name: unknown;
  try {
    name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name;
  } catch {
    return undefined;
  }
  for (const spec of [typeof name === 'string' ? name : undefined, dir]) {
    if (spec === undefined) continue;
    try {
      return resolvePackageSpecifier(spec, manifest);
    } catch {
      // no exports for this name, or no main: try the next way
    }
  }
  return undefined;
}

// Plugin entry files in a folder: its index, or a package folder's entry, else its subfolders' indexes.
function pluginEntries(dir: string, extensions: readonly string[]): string[] {
  const own = extensions.map((ext) => join(dir, `index${ext}`)).find((file) => existsSync(file));
  if (own) return [own];
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  const entry = packageEntry(dir);
  if (entry) return [entry];
  const entries: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const sub = join(dir, name);
    if (!statSync(sub).isDirectory()) continue;
    const file = extensions.map((ext) => join(sub, `index${ext}`)).find((f) => existsSync(f));
    if (file) entries.push(file);
  }
  return entries;
}

/**
 * The plugin entry files a `--plugins` value names: a folder (a plugin folder, or a folder of
 * plugin folders), or an installed package's name, resolved from `cwd` as Node resolves
 * modules (node_modules upward, the package's `exports` or `main`).
 */
export function pluginFiles(source: string, cwd: string): string[] {
  const absolute = resolve(cwd, source);
  if (existsSync(absolute) || isExplicitPath(source)) {
    if (!existsSync(absolute)) throw errPluginLoad(source, 'the folder does not exist');
    const entries = pluginEntries(absolute, ['.js', '.mjs', '.ts']);
    if (entries.length === 0) throw errPluginLoad(source, 'holds no index.js (nor plugin folders with one)');
    return entries;
  }
  try {
    return [resolvePackageSpecifier(source, join(cwd, 'package.json'))];
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw errPluginLoad(source, 'the package exports no entry Node can require or import by default (give its "exports" a "default" condition)', error);
    throw errPluginLoad(source, `is neither a folder nor an installed package (npm install ${source}, or give a path such as ./${source})`, error);
  }
}

// Node strips types itself from 22.18 / 23.6 on (process.features.typescript); older Nodes cannot import .ts.
function canImportTypeScript(): boolean {
  return Boolean((process.features as { typescript?: string | false }).typescript);
}

// Import one plugin module and take its default export (or a named `plugin` export).
async function importPlugin(file: string, builtin = false): Promise<LoadedPlugin> {
  if (!builtin && /\.[cm]?ts$/.test(file) && !canImportTypeScript()) {
    throw errPluginLoad(file, `is TypeScript, which Node ${process.version} cannot import: compile it to JavaScript (tsc) and load the .js, or use Node 22.18+ / 23.6+, which strip types`);
  }
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw errPluginLoad(file, `cannot be imported: ${(error as Error).message}`, error);
  }
  const plugin = (module.default ?? module.plugin) as Plugin | undefined;
  if (typeof plugin !== 'object' || plugin === null) throw errPluginLoad(file, 'has no default export (export default definePlugin({...}))');
  return { plugin, source: file };
}

/** Options of plugin discovery. */
export interface DiscoverOptions {
  /** Load the package's own plugins (default true). */
  builtin?: boolean;
  /** What `--plugins` names: a plugin folder, a folder of plugin folders, or an installed package's name. */
  dirs?: readonly string[];
  /** Plugins handed over in code (tests, embedders). */
  extra?: readonly LoadedPlugin[];
  /** Where relative folders and package names resolve from (default: the working directory). */
  cwd?: string;
}

/** Find, import and register plugins from the package and the user's folders. */
export async function loadRegistry(options: DiscoverOptions = {}): Promise<Registry> {
  const files: string[] = [];
  let builtinCount = 0;
  if (options.builtin !== false) {
    const { dir, extension } = builtinPluginFolder();
    if (existsSync(dir)) {
      for (const name of readdirSync(dir).sort()) {
        const file = join(dir, name, `index${extension}`);
        if (existsSync(file)) files.push(file);
      }
    }
    builtinCount = files.length;
  }
  for (const source of options.dirs ?? []) {
    // The same plugin named twice (in leakhunt.config.yaml and with --plugins) loads once.
    for (const file of pluginFiles(source, options.cwd ?? process.cwd())) if (!files.includes(file)) files.push(file);
  }
  // Imported side by side (their module graphs load in parallel, start-up time); the first
  // failure in discovery order is the one reported, as when they loaded one by one.
  const settled = await Promise.allSettled(files.map((file, index) => importPlugin(file, index < builtinCount)));
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  const loaded = settled.map((result) => (result as PromiseFulfilledResult<LoadedPlugin>).value);
  loaded.push(...(options.extra ?? []));
  try {
    return createRegistry(loaded);
  } catch (error) {
    if (isPlaybookError(error)) throw error;
    throw new PlaybookError('PLUGIN_LOAD_FAILED', (error as Error).message, { cause: error });
  }
}
