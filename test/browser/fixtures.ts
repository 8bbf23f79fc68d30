/**
 * Synthetic viewer projects for the serve tests, the browser tests and bench/viewer.ts, written
 * with our own io writers (dataset via h5wasm, attributions, analyses, label map) and a project
 * YAML in ViRelAy's key layout.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { AnalysisWriter, type CategoryAnalysis } from '../../src/io/analysis.js';
import { AttributionWriter } from '../../src/io/attribution.js';
import { openH5 } from '../../src/io/hdf5.js';
import { paddedWordNetId, writeLabelMap } from '../../src/io/labelmap.js';
import { mulberry32 } from '../../src/util/mulberry32.js';

export interface FixtureOptions {
  /** Project name (tab title). */
  name: string;
  classes: number;
  /** Samples per class. */
  perClass: number;
  /** Image side (square, 3 channels, float32 in [0, 1]). */
  size: number;
  /** Attribute only every `attributionEvery`-th sample (1 = all); rows then carry an index. */
  attributionEvery?: number;
  /**
   * Benchmark layout instead of one category per class: a small category (the first 100 samples)
   * followed by one category holding every sample (100 000 points in bench/viewer.ts).
   */
  benchCategories?: boolean;
  /** Extra analysis method with its own file (tests merging and analysis switching). */
  secondAnalysis?: boolean;
  /** spray's suspicion attributes per category (`suspicion[k]` for category k, 2 groups each); none when absent. */
  suspicion?: number[];
}

/** Deterministic pseudo-random numbers, so fixtures and expectations are stable. */
export const random = mulberry32;

/** Colour of a class: its images are that colour plus a bright square whose corner depends on the sample. */
function classColor(label: number): [number, number, number] {
  const palette: Array<[number, number, number]> = [
    [0.85, 0.2, 0.2],
    [0.2, 0.7, 0.25],
    [0.2, 0.35, 0.9],
    [0.9, 0.75, 0.15],
  ];
  return palette[label % palette.length];
}

async function writeDataset(path: string, count: number, size: number, labelOf: (i: number) => number): Promise<void> {
  const file = await openH5(path, 'w');
  const data = new Float32Array(count * 3 * size * size);
  const labels = new Uint16Array(count);
  const plane = size * size;
  for (let i = 0; i < count; i++) {
    const label = labelOf(i);
    labels[i] = label;
    const color = classColor(label);
    const corner = i % 4;
    const half = Math.max(1, size >> 1);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const inSquare = (corner & 1 ? x >= half : x < half) && (corner & 2 ? y >= half : y < half);
          data[i * 3 * plane + c * plane + y * size + x] = inSquare ? 1 - color[c] * 0.3 : color[c] * (0.6 + (0.4 * (x + y)) / (2 * size));
        }
      }
    }
  }
  file.create_dataset({ name: 'data', data, shape: [count, 3, size, size], dtype: '<f4' });
  file.create_dataset({ name: 'label', data: labels, shape: [count], dtype: '<H' });
  file.close();
}

async function writeAttributions(
  path: string,
  samples: number[],
  size: number,
  classes: number,
  labelOf: (i: number) => number,
  withIndex: boolean,
): Promise<void> {
  const writer = await AttributionWriter.create(path, { sampleShape: [3, size, size], numClasses: classes, withIndex });
  const plane = size * size;
  const batch = 256;
  for (let start = 0; start < samples.length; start += batch) {
    const rows = samples.slice(start, start + batch);
    const attribution = new Float32Array(rows.length * 3 * plane);
    const label = new Int32Array(rows.length);
    const prediction = new Float32Array(rows.length * classes);
    rows.forEach((sample, r) => {
      label[r] = labelOf(sample);
      // Positive relevance on the sample's square, negative elsewhere, growing with the sample index.
      const corner = sample % 4;
      const half = Math.max(1, size >> 1);
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < size; y++) {
          for (let x = 0; x < size; x++) {
            const inSquare = (corner & 1 ? x >= half : x < half) && (corner & 2 ? y >= half : y < half);
            attribution[r * 3 * plane + c * plane + y * size + x] = inSquare ? 1 + (sample % 7) * 0.1 : -0.3 * ((x + y) / (2 * size));
          }
        }
      }
      // Every 5th sample is "misclassified" so the strip shows both cases.
      const predicted = sample % 5 === 4 ? (label[r] + 1) % classes : label[r];
      for (let k = 0; k < classes; k++) prediction[r * classes + k] = k === predicted ? 3 : -1 + k * 0.1;
    });
    writer.append({ attribution, label, prediction, index: withIndex ? Int32Array.from(rows) : undefined });
  }
  writer.commit();
}

/**
 * A category whose t-SNE puts the first half of its samples (cluster 0 of `kmeans-02`) on the left
 * and the second half on the right, as ten blobs that match `kmeans-10`; a rectangle over the left
 * half selects exactly cluster 0.
 */
export function syntheticCategory(name: string, index: number[], seed: number): CategoryAnalysis {
  const n = index.length;
  const rand = random(seed);
  const tsne = new Float32Array(n * 2);
  const spectral = new Float32Array(n * 4);
  const two = new Int32Array(n);
  const ten = new Int32Array(n);
  const three = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const side = i < n / 2 ? 0 : 1;
    two[i] = side;
    ten[i] = Math.min(9, Math.floor((i * 10) / n));
    three[i] = i % 3;
    // Ten small blobs, five per side: x ∈ [-10.7, -3.3] on the left, [3.3, 10.7] on the right.
    const theta = ten[i] * 1.3;
    const angle = rand() * Math.PI * 2;
    const radius = Math.sqrt(rand()) * 1.2;
    tsne[i * 2] = (side ? 7 : -7) + Math.cos(theta) * 2.5 + Math.cos(angle) * radius;
    tsne[i * 2 + 1] = Math.sin(theta) * 3.5 + Math.sin(angle) * radius;
    for (let d = 0; d < 4; d++) spectral[i * 4 + d] = (d === 0 ? side - 0.5 : 0) + (rand() - 0.5) * 0.2 * (d + 1);
  }
  return {
    name,
    index: Int32Array.from(index),
    embeddings: [
      { name: 'spectral', data: spectral, shape: [n, 4], eigenvalue: Float32Array.from([0.9, 0.55, 0.2, 0]) },
      { name: 'tsne', data: tsne, shape: [n, 2], attrs: { embedding: 'spectral' } },
    ],
    clusterings: [
      { name: 'agglomerative-03', labels: three, k: 3, embedding: 'spectral' },
      { name: 'kmeans-02', labels: two, k: 2, embedding: 'spectral' },
      { name: 'kmeans-10', labels: ten, k: 10, embedding: 'spectral' },
    ],
  };
}

/** Writes a complete project into `dir` and returns the project file's path. */
export async function writeFixtureProject(dir: string, options: FixtureOptions): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const count = options.classes * options.perClass;
  const labelOf = (i: number) => Math.floor(i / options.perClass);
  await writeLabelMap(
    join(dir, 'label-map.json'),
    Array.from({ length: options.classes }, (_, k) => ({
      index: k,
      wordNetId: paddedWordNetId(k),
      name: ['Apple', 'Leaf', 'Sky', 'Sun'][k % 4] + (k >= 4 ? ` ${k}` : ''),
    })),
  );
  await writeDataset(join(dir, 'dataset.h5'), count, options.size, labelOf);
  const every = options.attributionEvery ?? 1;
  const attributed = Array.from({ length: count }, (_, i) => i).filter((i) => i % every === 0);
  await writeAttributions(join(dir, 'attribution.h5'), attributed, options.size, options.classes, labelOf, every !== 1);

  const analysis = await AnalysisWriter.create(join(dir, 'analysis.h5'));
  if (options.benchCategories) {
    analysis.addCategory(
      'spectral_analysis',
      syntheticCategory(
        paddedWordNetId(0),
        Array.from({ length: Math.min(100, count) }, (_, i) => i),
        1,
      ),
    );
    analysis.addCategory(
      'spectral_analysis',
      syntheticCategory(
        paddedWordNetId(1),
        Array.from({ length: count }, (_, i) => i),
        2,
      ),
    );
  } else {
    for (let k = 0; k < options.classes; k++) {
      const category = syntheticCategory(
        paddedWordNetId(k),
        Array.from({ length: options.perClass }, (_, i) => k * options.perClass + i),
        k + 1,
      );
      const score = options.suspicion?.[k];
      analysis.addCategory(
        'spectral_analysis',
        score === undefined ? category : { ...category, attrs: { samples: options.perClass, suspicion: score, suspicion_k: 2 } },
      );
    }
  }
  analysis.commit();
  const analyses = [{ analysis_method: 'spectral_analysis', sources: ['analysis.h5'] }];
  if (options.secondAnalysis) {
    const second = await AnalysisWriter.create(join(dir, 'analysis-raw.h5'));
    second.addCategory(
      'raw_analysis',
      syntheticCategory(
        paddedWordNetId(0),
        Array.from({ length: options.perClass }, (_, i) => i),
        99,
      ),
    );
    second.commit();
    analyses.push({ analysis_method: 'raw_analysis', sources: ['analysis-raw.h5'] });
  }

  const project = {
    project: {
      name: options.name,
      model: 'Synthetic CNN',
      label_map: 'label-map.json',
      dataset: {
        name: `${options.name} data`,
        type: 'hdf5',
        path: 'dataset.h5',
        input_width: options.size,
        input_height: options.size,
        up_sampling_method: 'none',
        down_sampling_method: 'none',
      },
      attributions: { attribution_method: 'LRP EpsilonPlus', attribution_strategy: 'true_label', sources: ['attribution.h5'] },
      analyses,
    },
  };
  const file = join(dir, 'project.yaml');
  writeFileSync(file, stringify(project));
  return file;
}
