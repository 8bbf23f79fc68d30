/**
 * `project check` validates every field's type and range with one line naming file and key, warns
 * on unknown keys, and refuses a YAML alias bomb, through the real CLI. `serve` refuses the same files.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './helpers/cli.js';

let dir: string;
const base = readFileSync(join(repoRoot, 'fixtures', 'h5py', 'project-images.yaml'), 'utf8');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xai-project-validate-'));
  cpSync(join(repoRoot, 'fixtures', 'h5py', 'images'), join(dir, 'images'), { recursive: true });
  cpSync(join(repoRoot, 'fixtures', 'h5py', 'label-map.json'), join(dir, 'label-map.json'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function projectFile(text: string): string {
  const file = join(dir, `p${counter++}.yaml`);
  writeFileSync(file, text);
  return file;
}

const withAttributions = (strategy: string): string =>
  `${base}  attributions:\n    attribution_method: LRP\n    attribution_strategy: ${strategy}\n    sources: [attribution.h5]\n`;

describe('project check: field types and ranges', () => {
  it('the unmodified fixture passes without warnings', async () => {
    const r = await runCli(['project', 'check', projectFile(base)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  const cases: Array<[string, string, RegExp]> = [
    [
      'input_width "twenty"',
      base.replace('input_width: 8', 'input_width: "twenty"'),
      /'project\.dataset\.input_width' must be a positive integer \(1 to 65536\), not "twenty"$/,
    ],
    ['input_width -28', base.replace('input_width: 8', 'input_width: -28'), /'project\.dataset\.input_width' must be a positive integer .*, not -28$/],
    ['input_width 28.5', base.replace('input_width: 8', 'input_width: 28.5'), /'project\.dataset\.input_width' must be a positive integer .*, not 28\.5$/],
    ['input_height 0', base.replace('input_height: 8', 'input_height: 0'), /'project\.dataset\.input_height' must be a positive integer .*, not 0$/],
    [
      'input_width on an hdf5 dataset',
      base.replace('type: image_directory', 'type: hdf5').replace('input_width: 8', 'input_width: wide'),
      /'project\.dataset\.input_width' must be a positive integer .*, not "wide"$/,
    ],
    [
      'an unknown sampling method',
      base.replace('up_sampling_method: fill_zeros', 'up_sampling_method: bicubic'),
      /'project\.dataset\.up_sampling_method' must be one of none, .*resize, not "bicubic"$/,
    ],
    [
      'an unknown attribution_strategy',
      withAttributions('best_label'),
      /'project\.attributions\.attribution_strategy' must be one of true_label, predicted_label, not "best_label"$/,
    ],
    [
      'sources not a list',
      withAttributions('true_label').replace('sources: [attribution.h5]', 'sources: attribution.h5'),
      /'project\.attributions\.sources' must be a list of paths, not "attribution\.h5"$/,
    ],
    [
      'an empty source path',
      withAttributions('true_label').replace('sources: [attribution.h5]', "sources: ['']"),
      /'project\.attributions\.sources' entry 0 must be a non-empty path/,
    ],
    ['a dataset that is a list', base.replace(/ {2}dataset:\n(?: {4}.*\n)+/, '  dataset: [1, 2]\n'), /'project\.dataset' must be a mapping, not a list$/],
    ['an analysis entry that is text', `${base}  analyses: [spectral]\n`, /'project\.analyses\[0\]' must be a mapping, not "spectral"$/],
    [
      'a regex that is a number',
      base.replace("label_index_regex: '^.*/label-([0-9]+)/.*$'", 'label_index_regex: 7'),
      /'project\.dataset\.label_index_regex' must be a regular expression \(text\) or null, not 7$/,
    ],
    [
      'a label_map that is a mapping',
      base.replace('label_map: label-map.json', 'label_map: {file: x}'),
      /'project\.label_map' must be a non-empty path, not a mapping$/,
    ],
    ['a document that is a list', '- project\n', /missing required key 'project'$/],
  ];
  for (const [name, text, message] of cases) {
    it(`${name}: one line naming file and key, exit 1`, async () => {
      const file = projectFile(text);
      const r = await runCli(['project', 'check', file]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]!.startsWith(`xai-tools: ${file}: `)).toBe(true);
      expect(lines[0]).toMatch(message);
    });
  }

  it('warns about every unknown key (at any level) and still checks the project', async () => {
    const text = `${base
      .replace('  model: none\n', '  model: none\n  label_mapp: typo.json\n')
      .replace('    input_width: 8\n', '    input_width: 8\n    colour: red\n')}extra: 1\n`;
    const file = projectFile(text);
    const r = await runCli(['project', 'check', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${file}: OK`);
    expect(r.stderr.trim().split('\n').sort()).toEqual(
      [
        `xai-tools: ${file}: warning: unknown key 'project.dataset.colour' (ignored)`,
        `xai-tools: ${file}: warning: unknown key 'project.label_mapp' (ignored)`,
        `xai-tools: ${file}: warning: unknown top-level key 'extra' (ignored)`,
      ].sort(),
    );
  });

  it('refuses a YAML alias bomb at once, with one line', async () => {
    const rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [prev, next] of [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'd'],
      ['d', 'e'],
      ['e', 'f'],
      ['f', 'g'],
      ['g', 'h'],
      ['h', 'i'],
    ])
      rows.push(`${next}: &${next} [${Array(9).fill(`*${prev}`).join(',')}]`);
    const file = projectFile(`${rows.join('\n')}\nproject: *i\n`);
    const started = Date.now();
    const r = await runCli(['project', 'check', file]);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`xai-tools: ${file}: YAML aliases expand too far (over 100 expansions, as in a "billion laughs" document); refused\n`);
  });

  it('serve refuses a project with a bad field too (reported, not served)', async () => {
    const bad = projectFile(base.replace('input_width: 8', 'input_width: -28'));
    const r = await runCli(['serve', '--port', '0', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`xai-tools: ${bad}: 'project.dataset.input_width' must be a positive integer (1 to 65536), not -28 (not served)`);
  });
});
