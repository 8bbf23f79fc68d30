/**
 * Fuzz: mutated HDF5, ONNX, YAML and JSON inputs against the real CLI (spawned processes). Every
 * run must end with exit 0, 1 or 2, without a crash, stack trace, `internal error` or hang, and a
 * failing run must say why in `xai-tools: …` lines only. Seeded (harness.ts); case counts below are
 * what bench/RESULTS.md records.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { cases, draw, mutate, mutationArb, pool, runCliBounded, violation, type Run } from './harness.js';

const fixtures = join(repoRoot, 'fixtures');
/** Generous: each case is a process start, and CI machines may be busy; a hang is caught per case (60 s). */
const FUZZ_TIMEOUT = 600_000;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xai-fuzz-cli-'));
  cpSync(join(fixtures, 'h5py', 'images'), join(dir, 'images'), { recursive: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs every case (two at a time) and lists those that break the property. */
async function fuzz<T>(name: string, inputs: T[], prepare: (input: T, caseDir: string) => string[]): Promise<string[]> {
  const failures: string[] = [];
  await pool(inputs, 2, async (input, i) => {
    const caseDir = join(dir, `${name}-${i}`);
    mkdirSync(caseDir);
    const args = prepare(input, caseDir);
    const run: Run = await runCliBounded(args, { cwd: caseDir, timeoutMs: 60_000 });
    const why = violation(run);
    if (why) failures.push(`${name} case ${i} (${JSON.stringify(input).slice(0, 300)}): ${why}\n${run.stderr.slice(0, 600)}`);
    else rmSync(caseDir, { recursive: true, force: true });
  });
  return failures;
}

// Structural mutations of parsed YAML/JSON: a value replaced by any JSON value, a key deleted, a key added.
type Edit = { op: 'set'; path: number; value: unknown } | { op: 'delete'; path: number } | { op: 'add'; path: number; key: string; value: unknown };
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), path: fc.nat(), value: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ op: fc.constant('delete' as const), path: fc.nat() }),
  fc.record({ op: fc.constant('add' as const), path: fc.nat(), key: fc.string({ maxLength: 12 }), value: fc.jsonValue({ maxDepth: 1 }) }),
);

/** Every (container, key) pair of a parsed document, depth first. */
function slots(
  value: unknown,
  out: Array<[Record<string, unknown> | unknown[], string | number]> = [],
): Array<[Record<string, unknown> | unknown[], string | number]> {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push([value, i]);
      slots(v, out);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push([value as Record<string, unknown>, k]);
      slots(v, out);
    }
  }
  return out;
}

function applyEdits(document: unknown, edits: Edit[]): unknown {
  const copy = structuredClone(document);
  for (const edit of edits) {
    const all = slots(copy);
    if (all.length === 0) break;
    const [container, key] = all[edit.path % all.length]!;
    if (edit.op === 'set') (container as Record<string | number, unknown>)[key] = edit.value;
    else if (edit.op === 'delete') Array.isArray(container) ? container.splice(key as number, 1) : delete (container as Record<string, unknown>)[key as string];
    else {
      const target = (container as Record<string | number, unknown>)[key];
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) (target as Record<string, unknown>)[edit.key] = edit.value;
    }
  }
  return copy;
}

const inputArb = <T>(structural: fc.Arbitrary<T>) =>
  fc.oneof(fc.record({ bytes: mutationArb }), fc.record({ edits: fc.array(structural, { minLength: 1, maxLength: 4 }) }));

describe('fuzz: mutated inputs through the real CLI', () => {
  it(
    `HDF5 attribution files → heatmap (${cases(20)} cases)`,
    async () => {
      const original = readFileSync(join(fixtures, 'h5py', 'attribution.h5'));
      const failures = await fuzz('hdf5', draw(mutationArb, cases(20), 1), (m, d) => {
        writeFileSync(join(d, 'attribution.h5'), mutate(original, m));
        return ['heatmap', 'attribution.h5', '-o', 'out', '--indices', '0:4'];
      });
      expect(failures).toEqual([]);
    },
    FUZZ_TIMEOUT,
  );

  it(
    `ONNX models → canonize (${cases(20)} cases)`,
    async () => {
      const original = readFileSync(join(fixtures, 'onnx', 'view_net_op13.onnx'));
      const failures = await fuzz('onnx', draw(mutationArb, cases(20), 2), (m, d) => {
        writeFileSync(join(d, 'model.onnx'), mutate(original, m));
        return ['canonize', 'model.onnx', '-o', 'out.onnx'];
      });
      expect(failures).toEqual([]);
    },
    FUZZ_TIMEOUT,
  );

  it(
    `YAML project files → project check (${cases(24)} cases)`,
    async () => {
      const text = readFileSync(join(fixtures, 'h5py', 'project-images.yaml'), 'utf8').replace('path: images', `path: ${join(dir, 'images')}`);
      const labelMap = readFileSync(join(fixtures, 'h5py', 'label-map.json'));
      const failures = await fuzz('yaml', draw(inputArb(editArb), cases(24), 3), (input, d) => {
        writeFileSync(join(d, 'label-map.json'), labelMap);
        const body = 'bytes' in input ? mutate(Buffer.from(text), input.bytes) : stringify(applyEdits(parse(text), input.edits));
        writeFileSync(join(d, 'project.yaml'), body);
        return ['project', 'check', 'project.yaml'];
      });
      expect(failures).toEqual([]);
    },
    FUZZ_TIMEOUT,
  );

  it(
    `JSON label maps → project check (${cases(20)} cases)`,
    async () => {
      const project = readFileSync(join(fixtures, 'h5py', 'project-images.yaml'), 'utf8').replace('path: images', `path: ${join(dir, 'images')}`);
      const labelMap = readFileSync(join(fixtures, 'h5py', 'label-map.json'), 'utf8');
      const failures = await fuzz('json', draw(inputArb(editArb), cases(20), 4), (input, d) => {
        writeFileSync(join(d, 'project.yaml'), project);
        const body = 'bytes' in input ? mutate(Buffer.from(labelMap), input.bytes) : JSON.stringify(applyEdits(JSON.parse(labelMap), input.edits));
        writeFileSync(join(d, 'label-map.json'), body);
        return ['project', 'check', 'project.yaml'];
      });
      expect(failures).toEqual([]);
    },
    FUZZ_TIMEOUT,
  );
});
