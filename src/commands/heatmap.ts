import type { Command } from 'commander';
import { UserError } from '../errors.js';

// Placeholder until its issue lands: registered so that `xai-tools --help` lists the pipeline.
export function register(program: Command): void {
  program
    .command('heatmap')
    .description('(not yet implemented)')
    .action(() => {
      throw new UserError(undefined, 'heatmap is not implemented yet');
    });
}
