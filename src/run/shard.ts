import { UserError } from '../errors.js';

/** Shard `index` (0-based) of `count` shards. */
export interface Shard {
  index: number;
  count: number;
}

/**
 * Environment variables that carry the index of one task of an array job, in the order they are
 * consulted: Slurm array jobs (`sbatch --array=0-N`) and Kubernetes Indexed Jobs.
 */
export const SHARD_INDEX_VARIABLES = ['SLURM_ARRAY_TASK_ID', 'JOB_COMPLETION_INDEX'] as const;

/**
 * Parses `--shard I/N` or `--shard N` (`/N` alone is accepted too); without an explicit `I` the index
 * comes from the first of `SHARD_INDEX_VARIABLES` that is set, so an array job needs no wrapper script.
 */
export function parseShard(text: string, env: NodeJS.ProcessEnv = process.env): Shard {
  const match = /^(?:([0-9]+)\/)?\/?([0-9]+)$/.exec(text.trim());
  if (!match) throw new UserError('--shard', `expected I/N (shard I of N, from 0) or N, got '${text}'`);
  const count = Number(match[2]);
  if (count < 1) throw new UserError('--shard', 'the number of shards must be at least 1');
  let index: number;
  if (count === 1 && match[1] === undefined) {
    index = 0;
  } else if (match[1] !== undefined) {
    index = Number(match[1]);
  } else {
    const variable = SHARD_INDEX_VARIABLES.find((name) => env[name] !== undefined && env[name] !== '');
    if (!variable) {
      throw new UserError('--shard', `no shard index given (I/N) and none of ${SHARD_INDEX_VARIABLES.join(', ')} is set`);
    }
    const value = env[variable]!;
    if (!/^[0-9]+$/.test(value)) throw new UserError('--shard', `${variable}='${value}' is not a shard index`);
    index = Number(value);
  }
  if (index >= count) throw new UserError('--shard', `shard index ${index} is not below the shard count ${count}`);
  return { index, count };
}

/**
 * The part of `selected` that one shard attributes: the selection is cut into blocks of `blockSize`
 * consecutive entries, and shard I takes blocks I, I+N, I+2N, … ("every N-th block"). Interleaving
 * blocks spreads class-sorted datasets (ImageNet is stored class by class) evenly over the shards,
 * while each block stays a contiguous read. Every selected sample belongs to exactly one shard.
 */
export function shardSelection(selected: readonly number[], shard: Shard, blockSize: number): number[] {
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new UserError('--shard-block', 'must be a positive integer');
  const mine: number[] = [];
  const stride = blockSize * shard.count;
  for (let start = shard.index * blockSize; start < selected.length; start += stride) {
    for (let i = start, end = Math.min(start + blockSize, selected.length); i < end; i++) mine.push(selected[i]!);
  }
  return mine;
}
