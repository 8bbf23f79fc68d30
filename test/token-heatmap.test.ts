/**
 * Token inputs end to end through the real CLI: the conformance text transformer
 * (../shared/conformance/lrp-transformer/text_tiny, int64 token ids [N, T]) is attributed with
 * attn-lrp at its embedding Gather, and `heatmap` renders the [N, T] file as an HTML page and as
 * ANSI text, tokens from --vocab and coloured by their relevance.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { palette } from '../src/render/cmap.js';
import { readAttribution } from './attribute-data.js';
import { runCli, sharedDir } from './helpers/cli.js';

const source = join(sharedDir, 'conformance', 'lrp-transformer');
let dir: string;
let ids: number[];
let labels: number[];
let relevance: Float32Array;
const T = 16;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xai-tokens-'));
  await h5wasm.ready;
  const ref = new h5wasm.File(join(source, 'text_tiny.h5'), 'r');
  const input = (ref.get('input') as h5wasm.Dataset).value as BigInt64Array;
  const target = (ref.get('target') as h5wasm.Dataset).value as BigInt64Array;
  ref.close();
  ids = Array.from(input, Number);
  labels = Array.from(target, Number);
  const f = new h5wasm.File(join(dir, 'tokens.h5'), 'w');
  f.create_dataset({ name: 'data', data: input, shape: [labels.length, T], dtype: '<q' });
  f.create_dataset({ name: 'label', data: Uint16Array.from(labels), shape: [labels.length], dtype: '<H' });
  f.close();
  writeFileSync(join(dir, 'vocab.txt'), `${Array.from({ length: Math.max(...ids) + 1 }, (_, k) => (k === 3 ? '<b>&' : `w${k}`)).join('\n')}\n`);
  const result = await runCli([
    'attribute',
    '--model',
    join(source, 'text_tiny.opset13.onnx'),
    '--dataset',
    join(dir, 'tokens.h5'),
    '-o',
    join(dir, 'attr.h5'),
    '--quiet',
    '--composite',
    'attn-lrp',
  ]);
  expect(result.stderr).toBe('');
  const a = await readAttribution(join(dir, 'attr.h5'));
  expect(a.shape).toEqual([labels.length, T]);
  relevance = a.attribution;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const token = (id: number): string => (id === 3 ? '&#60;b&#62;&#38;' : `w${id}`);

describe('heatmap on token attributions [N, T]', () => {
  it('writes a self-contained HTML page: one row per sample, each token from the vocabulary coloured by its relevance', async () => {
    const out = join(dir, 'page.html');
    const result = await runCli([
      'heatmap',
      join(dir, 'attr.h5'),
      '-o',
      out,
      '--dataset',
      join(dir, 'tokens.h5'),
      '--vocab',
      join(dir, 'vocab.txt'),
      '--symmetric',
      '--cmap',
      'bwr',
      '--quiet',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).not.toMatch(/<script|<link|src=/);
    const rows = html.split('<div class="row">').slice(1);
    expect(rows).toHaveLength(labels.length);
    const pal = palette('bwr');
    const hex = (k: number): string => `#${[0, 1, 2].map((c) => pal[3 * k + c]!.toString(16).padStart(2, '0')).join('')}`;
    rows.forEach((row, s) => {
      const spans = [...row.matchAll(/<span class="tok" style="background:(#[0-9a-f]{6});[^"]*" title="([^"]+)">([^<]*)<\/span>/g)];
      expect(spans).toHaveLength(T);
      expect(spans.map((m) => m[3])).toEqual(ids.slice(s * T, (s + 1) * T).map(token));
      const r = relevance.subarray(s * T, (s + 1) * T);
      spans.forEach((m, t) => expect(Number(m[2])).toBeCloseTo(r[t]!, 3));
      // Symmetric bounds: the token of largest |R| takes an end colour of the map.
      const top = r.reduce((best, v, t) => (Math.abs(v) > Math.abs(r[best]!) ? t : best), 0);
      expect(spans[top]![1]).toBe(r[top]! > 0 ? hex(255) : hex(0));
      expect(new Set(spans.map((m) => m[1])).size).toBeGreaterThan(2);
    });
  });

  it('prints ANSI text: 24-bit backgrounds on a colour terminal, token[value] under NO_COLOR; ids without --vocab', async () => {
    const args = ['heatmap', join(dir, 'attr.h5'), '--format', 'ansi', '--dataset', join(dir, 'tokens.h5'), '--indices', '1'];
    const plain = await runCli(args, { env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined } });
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toContain('\x1b[');
    const expected = ids
      .slice(T, 2 * T)
      .map((id, t) => `${id}[${relevance[T + t]!.toPrecision(3)}]`)
      .join(' ');
    expect(plain.stdout.trim()).toBe(`#1 label ${labels[1]}: ${expected}`);
    const colour = await runCli([...args, '--vocab', join(dir, 'vocab.txt')], { env: { ...process.env, NO_COLOR: undefined, FORCE_COLOR: '1' } });
    expect(colour.code).toBe(0);
    expect(colour.stdout.split(`${String.fromCharCode(27)}[48;2;`)).toHaveLength(T + 1);
    expect(colour.stdout).toContain(`w${ids[T]}`);
  });

  it('a missing vocabulary file is a one-line error', async () => {
    const result = await runCli([
      'heatmap',
      join(dir, 'attr.h5'),
      '--format',
      'ansi',
      '--vocab',
      join(dir, 'missing.txt'),
      '--dataset',
      join(dir, 'tokens.h5'),
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim()).toMatch(/^xai-tools: .*missing\.txt: no such vocabulary file$/);
  });
});
