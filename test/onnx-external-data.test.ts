/**
 * ONNX external data through the real CLI: a model saved by the `onnx` Python package with its
 * weights beside it (as torch.onnx.export does for big models) attributes exactly like the same
 * model with embedded weights; locations that lead out of the model's directory are refused with
 * one line naming the model and the tensor, and canonize never copies the file they name.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { conformanceDir, readAttribution, readReference, writeDataset } from './attribute-data.js';

let dir: string;
let dataset: string;
const source = join(conformanceDir, 'cnn_bn.onnx');

/** Re-saves `input` with every initializer in external files, using the onnx package (1.12). */
function saveExternal(input: string, output: string, location: string | null, extraScript = ''): void {
  const script = `
import sys, onnx
from onnx.external_data_helper import convert_model_to_external_data
m = onnx.load(sys.argv[1])
loc = sys.argv[3]
convert_model_to_external_data(m, all_tensors_to_one_file=(loc != '-'), location=(None if loc == '-' else loc), size_threshold=0)
${extraScript}
onnx.save_model(m, sys.argv[2])
`;
  execFileSync('/usr/bin/python3', ['-c', script, input, output, location ?? '-'], { stdio: 'pipe' });
}

/** Rewrites the location of every external tensor of `model` (in place) to `location`. */
function relocate(model: string, location: string): void {
  const script = `
import sys, onnx
m = onnx.load(sys.argv[1], load_external_data=False)
for t in m.graph.initializer:
    for e in t.external_data:
        if e.key == 'location':
            e.value = sys.argv[2]
onnx.save_model(m, sys.argv[1])
`;
  execFileSync('/usr/bin/python3', ['-c', script, model, location], { stdio: 'pipe' });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xai-extdata-'));
  const reference = await readReference(join(conformanceDir, 'cnn_bn.h5'));
  dataset = join(dir, 'data.h5');
  await writeDataset(dataset, reference.input, reference.shape, reference.target);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ONNX external data', () => {
  it('a model with all weights in one file beside it attributes bitwise like the embedded model', async () => {
    const modelDir = join(dir, 'one-file');
    mkdirSync(modelDir);
    const model = join(modelDir, 'model.onnx');
    saveExternal(source, model, 'model.onnx.data');
    // The weights really are outside the .onnx: it is a fraction of the original's size.
    expect(statSync(join(modelDir, 'model.onnx.data')).size).toBeGreaterThan(statSync(model).size * 5);
    const embedded = join(dir, 'embedded.h5');
    const external = join(dir, 'external.h5');
    const a = await runCli(['attribute', '--model', source, '--dataset', dataset, '-o', embedded, '-q']);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    // Run from another directory: locations resolve against the model's directory, not the cwd.
    const b = await runCli(['attribute', '--model', model, '--dataset', dataset, '-o', external, '-q'], { cwd: tmpdir() });
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    const x = await readAttribution(embedded);
    const y = await readAttribution(external);
    expect(y.shape).toEqual(x.shape);
    expect(Buffer.from(y.attribution.buffer).equals(Buffer.from(x.attribution.buffer))).toBe(true);
    expect(Buffer.from(y.prediction.buffer).equals(Buffer.from(x.prediction.buffer))).toBe(true);
  });

  it('a model with one file per tensor canonizes to the same weights', async () => {
    const modelDir = join(dir, 'per-tensor');
    mkdirSync(modelDir);
    const model = join(modelDir, 'model.onnx');
    saveExternal(source, model, null);
    const files = readdirSync(modelDir).filter((f) => f !== 'model.onnx');
    expect(files.length).toBeGreaterThan(3);
    const out = join(dir, 'canonical-ext.onnx');
    const r = await runCli(['canonize', model, '-o', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const ref = join(dir, 'canonical-ref.onnx');
    expect((await runCli(['canonize', source, '-o', ref])).code).toBe(0);
    expect(readFileSync(out).equals(readFileSync(ref))).toBe(true);
  });

  it('a symlink that stays inside the model directory is followed', async () => {
    const modelDir = join(dir, 'inner-link');
    mkdirSync(join(modelDir, 'weights'), { recursive: true });
    const model = join(modelDir, 'model.onnx');
    saveExternal(source, model, 'weights.bin');
    copyFileSync(join(modelDir, 'weights.bin'), join(modelDir, 'weights', 'real.bin'));
    rmSync(join(modelDir, 'weights.bin'));
    symlinkSync(join('weights', 'real.bin'), join(modelDir, 'weights.bin'));
    const r = await runCli(['canonize', model, '-o', join(dir, 'inner.onnx')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  describe('locations outside the model directory are refused', () => {
    let secret: string;
    beforeAll(() => {
      secret = join(dir, 'secret.bin');
      // Big enough for every tensor, so a reader that follows the location would succeed.
      writeFileSync(secret, Buffer.alloc(1 << 20, 0x41));
    });

    const cases: Array<{ name: string; setup: (modelDir: string, model: string) => void; message: RegExp }> = [
      { name: 'an absolute path', setup: (_d, m) => relocate(m, secret), message: /is absolute; only files in the model's directory are read/ },
      { name: '../ in the location', setup: (_d, m) => relocate(m, '../secret.bin'), message: /contains '\.\.'; only files in the model's directory are read/ },
      { name: 'a deep ../../../../etc/passwd', setup: (_d, m) => relocate(m, '../../../../../../../../etc/passwd'), message: /contains '\.\.'/ },
      {
        name: 'a symlink leading out',
        setup: (d, m) => {
          relocate(m, 'weights.bin');
          symlinkSync(secret, join(d, 'weights.bin'));
        },
        message: /is a symbolic link leading out of the model's directory/,
      },
      {
        name: 'a symlinked subdirectory leading out',
        setup: (d, m) => {
          relocate(m, 'sub/secret.bin');
          symlinkSync(dir, join(d, 'sub'));
        },
        message: /is a symbolic link leading out of the model's directory/,
      },
      {
        name: 'a directory',
        setup: (d, m) => {
          relocate(m, 'adir');
          mkdirSync(join(d, 'adir'));
        },
        message: /is not a regular file/,
      },
      { name: 'a missing file', setup: (_d, m) => relocate(m, 'nothing.bin'), message: /cannot read external data file 'nothing.bin' \(no such file\)/ },
    ];

    for (const c of cases) {
      it(`${c.name}: one line naming model and tensor, exit 1, nothing written`, async () => {
        const modelDir = mkdtempSync(join(dir, 'evil-'));
        const model = join(modelDir, 'model.onnx');
        saveExternal(source, model, 'model.onnx.data');
        c.setup(modelDir, model);
        const out = join(modelDir, 'out.onnx');
        const r = await runCli(['canonize', model, '-o', out]);
        expect(r.code).toBe(1);
        const lines = r.stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(new RegExp(`^xai-tools: ${model.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: tensor \\S+: `));
        expect(lines[0]).toMatch(c.message);
        expect(existsSync(out)).toBe(false);
      });
    }

    it('truncated external data is a one-line error too', async () => {
      const modelDir = mkdtempSync(join(dir, 'trunc-'));
      const model = join(modelDir, 'model.onnx');
      saveExternal(source, model, 'model.onnx.data');
      writeFileSync(join(modelDir, 'model.onnx.data'), readFileSync(join(modelDir, 'model.onnx.data')).subarray(0, 100));
      const r = await runCli(['canonize', model, '-o', join(modelDir, 'o.onnx')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^xai-tools: .*model\.onnx: tensor \S+: external data file 'model\.onnx\.data' is truncated .*\n$/);
    });
  });
});
