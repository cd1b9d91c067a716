/**
 * `leakhunt sim-host --state <dir> -- <command>`: the simulated target machine's command line
 * (gflags /r, reg query/add of GlobalFlag), sharing its registry with `leakhunt sim --host-state <dir>`.
 *
 * @see ../../../docs/simulator.md
 */
import type { Command } from 'commander';
import { runHostCommand } from '../../sim/host.js';

/** Add the sim-host command. */
export function register(program: Command): void {
  program
    .command('sim-host')
    .description("Run a command on the simulated target machine (gflags /r, reg query/add GlobalFlag)")
    .requiredOption('--state <dir>', 'the target state folder the simulator reads at boot (its --host-state)')
    .argument('<command...>', 'the command line, after --')
    .addHelpText('after', `
Examples:
  $ leakhunt sim-host --state run/host -- gflags /r +ptg
  $ leakhunt sim-host --state run/host -- reg query "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager" /v GlobalFlag`)
    .action((command: string[], options: { state: string }) => {
      const result = runHostCommand(options.state, command);
      process.stdout.write(result.stdout);
      process.exitCode = result.exitCode;
    });
}
