import { Command, CommanderError } from 'commander';
import { InterruptedError, UserError } from './errors.js';
import { removePendingTemporaries } from './util/atomic.js';
import { installInterruptHandlers } from './util/interrupt.js';
import { commands } from './commands/index.js';

/** Builds the commander program with every subcommand registered. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('xai-tools')
    .description('Dataset-wide explainable AI for ONNX models: LRP attributions, SpRAy analyses, heatmaps and a viewer')
    .version('0.1.0')
    .option('--debug', 'print stack traces for errors', false)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });
  for (const register of commands) register(program);
  // Subcommands inherit exitOverride so usage errors reach main() instead of exiting directly.
  const applyOverride = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(applyOverride);
  };
  program.commands.forEach(applyOverride);
  return program;
}

/** Runs the CLI; resolves to the process exit code (0 ok, 1 user error, 2 usage error, 130 interrupted). */
export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  installInterruptHandlers(removePendingTemporaries);
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    removePendingTemporaries();
    if (error instanceof CommanderError) {
      // --help and --version are "errors" with exit code 0.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof UserError) {
      process.stderr.write(`xai-tools: ${error.line}\n`);
      if (debug) process.stderr.write(`${error.stack}\n`);
      return 1;
    }
    if (error instanceof InterruptedError) {
      process.stderr.write(`xai-tools: ${error.message}; no partial output was left under the final name\n`);
      return 130;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`xai-tools: internal error: ${message.split('\n')[0]}${debug ? '' : ' (run with --debug for details)'}\n`);
    if (debug && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return 1;
  }
}
