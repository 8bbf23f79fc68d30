import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatProject, parseProject, readProject, writeProject, type Project } from './project.js';

const dir = mkdtempSync(join(tmpdir(), 'xai-yaml-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const full: Project = {
  name: 'VGG16 CIFAR-10',
  model: 'VGG16',
  labelMap: join(dir, 'label-map.json'),
  dataset: {
    name: 'CIFAR-10',
    type: 'hdf5',
    path: join(dir, 'data', 'dataset.h5'),
    inputWidth: 32,
    inputHeight: 32,
    upSamplingMethod: 'none',
    downSamplingMethod: 'none',
  },
  attributions: { attributionMethod: 'LRP EpsilonGammaBox', attributionStrategy: 'true_label', sources: [join(dir, 'a0.h5'), join(dir, 'elsewhere', 'a1.h5')] },
  analyses: [
    { analysisMethod: 'spectral_analysis', sources: [join(dir, 'analysis.h5')] },
    { analysisMethod: 'spectral_analysis', sources: [join(dir, 'analysis-2.h5')] },
  ],
};

describe('project YAML', () => {
  it('round-trips every key with paths relative to the project file', async () => {
    mkdirSync(join(dir, 'projects'), { recursive: true });
    const file = join(dir, 'projects', 'project.yaml');
    await writeProject(file, full);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('label_map: ../label-map.json');
    expect(text).toContain('path: ../data/dataset.h5');
    expect(text).toContain('- ../elsewhere/a1.h5');
    expect(readProject(file)).toEqual(full);
  });

  it('round-trips an image_directory block with all eight keys', () => {
    const project: Project = {
      ...full,
      dataset: {
        name: 'imgs',
        type: 'image_directory',
        path: join(dir, 'images'),
        inputWidth: 224,
        inputHeight: 200,
        upSamplingMethod: 'fill_zeros',
        downSamplingMethod: 'center_crop',
        labelIndexRegex: null,
        labelWordNetIdRegex: '^.*/(n[0-9]+)/.*$',
      },
      attributions: undefined,
      analyses: [],
    };
    delete project.attributions;
    const file = join(dir, 'img.yaml');
    const text = formatProject(file, project);
    expect(text).toContain('label_index_regex: null');
    expect(text).toContain('analyses: []');
    expect(parseProject(text, file)).toEqual(project);
  });

  it('reads ViRelAy examples: minimal project, unknown keys, numbers as names', () => {
    const minimal = parseProject(
      'project:\n  name: 2024\n  model: none\n  label_map: label-map.json\n  dataset: {name: Demo data, type: hdf5, path: dataset.h5}\n  extra: ignored\n',
      join(dir, 'p.yaml'),
    );
    expect(minimal).toEqual({
      name: '2024',
      model: 'none',
      labelMap: join(dir, 'label-map.json'),
      dataset: { name: 'Demo data', type: 'hdf5', path: join(dir, 'dataset.h5') },
      analyses: [],
      warnings: ["unknown key 'project.extra' (ignored)"],
    });
  });

  it('names the key that is wrong', () => {
    const base = 'project:\n  name: x\n  model: m\n  label_map: l.json\n';
    const f = join(dir, 'bad.yaml');
    expect(() => parseProject(`${base}  dataset: {name: d, type: csv, path: x}\n`, f)).toThrow(/'project.dataset.type' must be one of hdf5, image_directory/);
    expect(() =>
      parseProject(
        `${base}  dataset: {name: d, type: image_directory, path: x, input_width: 8, input_height: 8, up_sampling_method: none, ` +
          `down_sampling_method: none, label_index_regex: null}\n`,
        f,
      ),
    ).toThrow(/missing required key 'project.dataset.label_word_net_id_regex'/);
    expect(() =>
      parseProject(
        `${base}  dataset: {name: d, type: image_directory, path: x, input_width: 8, input_height: 8, up_sampling_method: none, ` +
          `down_sampling_method: none, label_index_regex: null, label_word_net_id_regex: null}\n`,
        f,
      ),
    ).toThrow(/exactly one of/);
    expect(() =>
      parseProject(
        `${base}  dataset: {name: d, type: image_directory, path: x, input_width: 8, input_height: 8, up_sampling_method: stretch, ` +
          `down_sampling_method: none, label_index_regex: a, label_word_net_id_regex: null}\n`,
        f,
      ),
    ).toThrow(/up_sampling_method' must be one of none, fill_zeros/);
    expect(() => parseProject(`${base}  dataset: {name: d, type: hdf5, path: x}\n  attributions: {attribution_method: a, sources: []}\n`, f)).toThrow(
      /missing required key 'project.attributions.attribution_strategy'/,
    );
    expect(() => parseProject('- just a list\n', f)).toThrow(/missing required key 'project'/);
    expect(() => parseProject('project: [\n', f)).toThrow(/invalid YAML/);
  });
});
