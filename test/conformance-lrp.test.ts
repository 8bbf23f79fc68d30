/**
 * Conformance: every case of ../shared/conformance/lrp (Zennit 0.5.1 reference attributions)
 * reproduced through the real CLI, for both the BatchNorm-keeping and the exporter-folded ONNX
 * export, within relative L2 ≤ 1e-4 per sample.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import {
  caseArguments,
  conformanceDir,
  readAttribution,
  readReference,
  relativeErrors,
  writeDataset,
  type ConformanceModel,
  type Reference,
} from './attribute-data.js';

const manifest = JSON.parse(readFileSync(join(conformanceDir, 'manifest.json'), 'utf8')) as { models: ConformanceModel[] };
const TOLERANCE = 1e-4;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xai-conformance-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

for (const entry of manifest.models) {
  describe(entry.data.replace(/\.h5$/, ''), () => {
    let reference: Reference;
    let datasetPath: string;
    beforeAll(async () => {
      reference = await readReference(join(conformanceDir, entry.data));
      datasetPath = join(dir, `${entry.data.replace(/\.h5$/, '')}-dataset.h5`);
      await writeDataset(datasetPath, reference.input, reference.shape, reference.target);
    });

    for (const file of [entry.model, entry.folded_model]) {
      for (const c of entry.cases) {
        it(`${file} ${c.case}`, async () => {
          const output = join(dir, `${file}-${c.case}.h5`);
          const args = caseArguments(c, (rules) => {
            const path = join(dir, `${c.case}.yaml`);
            writeFileSync(path, stringify({ rules }));
            return path;
          });
          const result = await runCli(['attribute', '--model', join(conformanceDir, file), '--dataset', datasetPath, '-o', output, '--quiet', ...args]);
          expect(result.stderr).toBe('');
          expect(result.code).toBe(0);
          const ours = await readAttribution(output);
          expect(ours.shape).toEqual(reference.shape);
          expect(Array.from(ours.label)).toEqual(Array.from(reference.target));
          const errors = relativeErrors(ours.attribution, reference.relevance.get(c.case)!, reference.shape[0]!);
          for (const e of errors) expect(e).toBeLessThanOrEqual(TOLERANCE);
        });
      }
    }
  });
}
