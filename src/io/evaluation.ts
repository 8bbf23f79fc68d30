/**
 * Evaluation database (`xai-tools evaluate`, docs/evaluate.md): one group per evaluated attribution
 * file (plus `random`, the random-order baseline), rows in the attribution file's order:
 *
 *   /<method>/curve   float32 (M, K+1)  target logit after k = 0..K perturbation steps
 *   /<method>/aopc    float32 (M,)
 *   /<method>/auc     float32 (M,)      area under f(x_k)/f(x₀) over k/K ∈ [0, 1]
 *   /<method>/index   uint32 (M,)       dataset sample index (the attribution file's `index`)
 *   /<method>/row     uint32 (M,)       row in the attribution file
 *   /<method>/target  uint16 (M,)       class whose logit is recorded
 *   /<method>/label   uint16 (M,)       the sample's (first) label
 * Group attributes: `order`, `source` (the attribution file); root attributes: the run's settings.
 *
 * The writer streams into a resumable partial file (like the attribution writer): groups are filled
 * one after another, so "the first R rows" is a well-defined cut for `--resume`.
 */
import type { Dataset, Group, H5File } from './hdf5.js';
import {
  checkOutputPath,
  createTemporaryH5,
  h5Call,
  kindOf,
  openH5,
  readFloat32,
  readInt32,
  requireDataset,
  requireGroup,
  shapeOf,
  sortedKeys,
  TemporaryH5Writer,
} from './hdf5.js';
import { createGrowable } from './attribution.js';
import { readAttrs, writeAttrs, type Attrs } from './analysis.js';
import { UserError } from '../errors.js';

/** The sanity check's results as stored under `/cascade` (see src/eval/cascade.ts). */
export interface StoredCascade {
  layers: string[];
  samples: number;
  threshold: number;
  /** Dataset index of each checked sample. */
  index: Int32Array;
  methods: Array<{ name: string; spearman: Float32Array; ssim: Float32Array; meanSpearman: number[]; meanSsim: number[]; flagged: boolean }>;
}

export const CASCADE_GROUP = 'cascade';

function writeCascade(file: H5File, cascade: StoredCascade): void {
  const group = file.create_group(CASCADE_GROUP);
  writeAttrs(group, { layers: cascade.layers.join(','), samples: cascade.samples, threshold: cascade.threshold });
  const L = cascade.layers.length;
  group.create_dataset({ name: 'index', data: Uint32Array.from(cascade.index), shape: [cascade.index.length], dtype: '<I' });
  for (const m of cascade.methods) {
    const sub = group.create_group(m.name);
    writeAttrs(sub, { flagged: m.flagged ? 1 : 0, mean_spearman: m.meanSpearman, mean_ssim: m.meanSsim });
    sub.create_dataset({ name: 'spearman', data: m.spearman, shape: [cascade.samples, L], dtype: '<f4' });
    sub.create_dataset({ name: 'ssim', data: m.ssim, shape: [cascade.samples, L], dtype: '<f4' });
  }
}

function readCascade(path: string, group: Group): StoredCascade {
  const attrs = readAttrs(group);
  const layers = String(attrs.layers ?? '')
    .split(',')
    .filter((l) => l !== '');
  const list = (v: unknown): number[] => (Array.isArray(v) ? v.map(Number) : typeof v === 'number' ? [v] : []);
  const methods = sortedKeys(group)
    .filter((k) => kindOf(group, k) === 'group')
    .map((name) => {
      const sub = group.get(name) as Group;
      const a = readAttrs(sub);
      return {
        name,
        flagged: a.flagged === 1,
        meanSpearman: list(a.mean_spearman),
        meanSsim: list(a.mean_ssim),
        spearman: readFloat32(path, requireDataset(path, sub, 'spearman')),
        ssim: readFloat32(path, requireDataset(path, sub, 'ssim')),
      };
    });
  return {
    layers,
    samples: Number(attrs.samples ?? 0),
    threshold: Number(attrs.threshold ?? 0),
    index: readInt32(path, requireDataset(path, group, 'index')),
    methods,
  };
}

export const EVALUATION_FORMAT = 'xai-tools/evaluation/1';

export interface EvaluationGroupPlan {
  name: string;
  /** Rows this group will hold. */
  rows: number;
  attrs: Attrs;
}

export interface EvaluationRows {
  curve: Float32Array;
  aopc: Float32Array;
  auc: Float32Array;
  index: Int32Array;
  row: Int32Array;
  target: Int32Array;
  label: Int32Array;
}

interface GroupDatasets {
  plan: EvaluationGroupPlan;
  curve: Dataset;
  aopc: Dataset;
  auc: Dataset;
  index: Dataset;
  row: Dataset;
  target: Dataset;
  label: Dataset;
  written: number;
}

const COLUMNS = [
  ['aopc', '<f4', 4],
  ['auc', '<f4', 4],
  ['index', '<I', 4],
  ['row', '<I', 4],
  ['target', '<H', 2],
  ['label', '<H', 2],
] as const;

function checkGroupName(path: string, name: string): void {
  if (!name || name === '.' || name === '..' || name.includes('/')) throw new UserError(path, `'${name}' cannot name an HDF5 group (no '/', not empty)`);
}

export class EvaluationWriter extends TemporaryH5Writer {
  private constructor(
    path: string,
    partial: string,
    file: H5File,
    private readonly width: number,
    private readonly groups: GroupDatasets[],
  ) {
    super(path, partial, file);
  }

  /** Rows written so far, over all groups. */
  get rows(): number {
    return this.groups.reduce((n, g) => n + g.written, 0);
  }

  static async create(
    path: string,
    partial: string,
    width: number,
    plans: EvaluationGroupPlan[],
    attrs: Attrs,
    cascade?: StoredCascade,
  ): Promise<EvaluationWriter> {
    checkOutputPath(path);
    for (const plan of plans) {
      checkGroupName(path, plan.name);
      if (plan.name === CASCADE_GROUP)
        throw new UserError(plan.name, `'${CASCADE_GROUP}' names the sanity check's group; name the attribution file otherwise (NAME=FILE)`);
    }
    return createTemporaryH5(partial, false, (file) => {
      const groups = h5Call(path, 'cannot create datasets', () => {
        file.create_attribute('format', EVALUATION_FORMAT);
        writeAttrs(file, attrs);
        if (cascade) writeCascade(file, cascade);
        return plans.map((plan) => {
          writeAttrs(file.create_group(plan.name), plan.attrs);
          const curve = createGrowable(file, `${plan.name}/curve`, [width], '<f4', 4);
          const columns = Object.fromEntries(COLUMNS.map(([name, dtype, bytes]) => [name, createGrowable(file, `${plan.name}/${name}`, [], dtype, bytes)]));
          return { plan, curve, ...columns, written: 0 } as GroupDatasets;
        });
      });
      return new EvaluationWriter(path, partial, file, width, groups);
    });
  }

  /** Reopens an interrupted run's partial file, keeping its first `rows` rows (groups filled in order). */
  static async reopen(path: string, partial: string, width: number, plans: EvaluationGroupPlan[], rows: number): Promise<EvaluationWriter> {
    const file = await openH5(partial, 'a');
    try {
      let left = rows;
      const groups = plans.map((plan) => {
        // requireDataset looks names up among a group's own keys, so go through the method's group.
        const group = requireGroup(partial, file, plan.name);
        const get = (name: string): Dataset => requireDataset(partial, group, name);
        const curve = get('curve');
        if (shapeOf(curve)[1] !== width) throw new UserError(partial, `'${plan.name}/curve' does not have ${width} steps; start over with --overwrite`);
        const keep = Math.min(left, plan.rows);
        left -= keep;
        const datasets = { plan, curve, ...Object.fromEntries(COLUMNS.map(([name]) => [name, get(name)])), written: keep } as GroupDatasets;
        h5Call(partial, 'cannot cut back unfinished rows', () => {
          if (shapeOf(curve)[0]! < keep) throw new UserError(partial, `'${plan.name}' has fewer rows than recorded as finished; start over with --overwrite`);
          curve.resize([keep, width]);
          for (const [name] of COLUMNS) (datasets[name] as Dataset).resize([keep]);
        });
        return datasets;
      });
      return new EvaluationWriter(path, partial, file, width, groups);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /** Appends rows for the group being filled (rows spill over into the next group in order). */
  append(rows: EvaluationRows): void {
    if (this.closed) throw new Error('append after commit');
    let offset = 0;
    const count = rows.aopc.length;
    while (offset < count) {
      const group = this.groups.find((g) => g.written < g.plan.rows);
      if (!group) throw new Error('more evaluation rows than planned');
      const take = Math.min(count - offset, group.plan.rows - group.written);
      const start = group.written;
      const end = start + take;
      h5Call(this.path, 'cannot append rows', () => {
        group.curve.resize([end, this.width]);
        group.curve.write_slice([[start, end]], rows.curve.subarray(offset * this.width, (offset + take) * this.width));
        for (const [name, dtype] of COLUMNS) {
          const values = rows[name].subarray(offset, offset + take);
          const ds = group[name];
          ds.resize([end]);
          ds.write_slice([[start, end]], dtype === '<f4' ? values : dtype === '<I' ? Uint32Array.from(values) : Uint16Array.from(values));
        }
      });
      group.written = end;
      offset += take;
    }
  }
}

export interface EvaluationGroup extends EvaluationRows {
  name: string;
  order: string;
  attrs: Attrs;
  rows: number;
  steps: number;
}

export interface EvaluationFile {
  path: string;
  attrs: Attrs;
  groups: EvaluationGroup[];
  cascade?: StoredCascade;
}

/** Reads a whole evaluation file (curves are small: rows × steps floats per method). */
export async function readEvaluation(path: string): Promise<EvaluationFile> {
  const file = await openH5(path, 'r');
  try {
    const format = file.attrs.format?.value;
    if (format !== EVALUATION_FORMAT)
      throw new UserError(path, `not an xai-tools evaluation file (format '${String(format ?? 'missing')}', expected ${EVALUATION_FORMAT})`);
    const groups: EvaluationGroup[] = [];
    let cascade: StoredCascade | undefined;
    for (const name of sortedKeys(file)) {
      if (kindOf(file, name) !== 'group') continue;
      if (name === CASCADE_GROUP) {
        cascade = readCascade(path, file.get(name) as Group);
        continue;
      }
      const group = file.get(name) as Group;
      const get = (column: string): Dataset => requireDataset(path, group, column);
      const curveShape = shapeOf(get('curve'));
      const rows = curveShape[0] ?? 0;
      const columns = Object.fromEntries(
        COLUMNS.map(([column, dtype]) => {
          const ds = get(column);
          if (shapeOf(ds)[0] !== rows) throw new UserError(path, `'${name}/${column}' has ${shapeOf(ds)[0]} rows, '${name}/curve' has ${rows}`);
          return [column, dtype === '<f4' ? readFloat32(path, ds) : readInt32(path, ds)];
        }),
      );
      const attrs = readAttrs(group);
      groups.push({
        name,
        attrs,
        rows,
        steps: (curveShape[1] ?? 1) - 1,
        order: String(attrs.order ?? 'morf'),
        curve: readFloat32(path, get('curve')),
        ...columns,
      } as EvaluationGroup);
    }
    return { path, attrs: readAttrs(file, ['format']), groups, cascade };
  } finally {
    file.close();
  }
}
