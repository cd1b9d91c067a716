/**
 * The project configuration: `leakhunt.config.yaml` in the working directory names the plugins a
 * team's repository loads (folders or installed packages) and the folders its playbooks live in.
 * Like ESLint's or Rollup's config it names code to load; a playbook never does.
 *
 * @see ../../docs/plugins.md
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errInvalidConfig, type PlaybookError } from './errors.js';
import { readYamlFile } from './yaml-file.js';
import { findPackageFolder, isExplicitPath } from './resolve.js';
import type { JsonSchema } from './types.js';

/** The file name looked for in the working directory. */
export const configFileName = 'leakhunt.config.yaml';

/** A project configuration, its paths still as written. */
export interface ProjectConfig {
  /** The configuration file, absolute. */
  file: string;
  /** What `--plugins` would take: folders (relative to the file) or package names. */
  plugins: string[];
  /** Playbook folders (relative to the file) or package names. */
  playbooks: string[];
}

/** The configuration found in `cwd` (undefined when there is none), or every problem in it. */
export interface ConfigResult {
  config?: ProjectConfig;
  errors: PlaybookError[];
}

let schema: JsonSchema | undefined;
/** The configuration schema shipped in schemas/ (read once). */
export function configSchema(): JsonSchema {
  schema ??= JSON.parse(readFileSync(fileURLToPath(new URL(`${import.meta.url.endsWith('.ts') ? '../../' : '../../../'}schemas/leakhunt-config.schema.json`, import.meta.url)), 'utf8')) as JsonSchema;
  return schema;
}

/** Read and check `leakhunt.config.yaml` in `cwd`; every problem comes back with its position. */
export function loadProjectConfig(cwd: string = process.cwd()): ConfigResult {
  const file = join(cwd, configFileName);
  if (!existsSync(file)) return { errors: [] };
  const checked = readYamlFile(relative(cwd, file) || file, readFileSync(file, 'utf8'), configSchema(), configFileName, errInvalidConfig);
  if (checked.errors.length > 0) return { errors: checked.errors };
  const raw = checked.raw as Record<string, unknown>;
  return { config: { file, plugins: (raw.plugins as string[] | undefined) ?? [], playbooks: (raw.playbooks as string[] | undefined) ?? [] }, errors: [] };
}

/** The configuration's playbook folders, absolute; a package name is resolved to its folder. */
export function playbookFolders(config: ProjectConfig): string[] {
  const base = dirname(config.file);
  return config.playbooks.map((entry) => {
    const local = resolve(base, entry);
    if (existsSync(local) || isExplicitPath(entry)) return local;
    return findPackageFolder(entry, base) ?? local;
  });
}

/** Every playbook (`*.yaml`, `*.yml`) directly in the configuration's playbook folders, sorted. */
export function configPlaybooks(config: ProjectConfig): string[] {
  return playbookFolders(config).flatMap((dir) =>
    existsSync(dir) && statSync(dir).isDirectory()
      ? readdirSync(dir)
          .filter((name) => /\.ya?ml$/.test(name) && !name.startsWith('_'))
          .sort()
          .map((name) => join(dir, name))
      : [],
  );
}

/** A playbook argument: the file when it exists, else `<name>`, `<name>.yaml` or `<name>.yml` in a playbook folder. */
export function findPlaybook(argument: string, config: ProjectConfig | undefined, cwd: string = process.cwd()): string {
  if (!config || existsSync(resolve(cwd, argument))) return argument;
  for (const dir of playbookFolders(config)) {
    for (const name of [argument, `${argument}.yaml`, `${argument}.yml`]) {
      if (existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return argument;
}
