import type { Command } from 'commander';
import { register as registerProject } from './project.js';
import { register as registerCanonize } from './canonize.js';
import { register as registerAttribute } from './attribute.js';
import { register as registerSpray } from './spray.js';
import { register as registerEvaluate } from './evaluate.js';
import { register as registerHeatmap } from './heatmap.js';
import { register as registerServe } from './serve.js';

/** Every subcommand, in the order `--help` lists them (the order of the pipeline). */
export const commands: Array<(program: Command) => void> = [
  registerProject,
  registerCanonize,
  registerAttribute,
  registerSpray,
  registerEvaluate,
  registerHeatmap,
  registerServe,
];
