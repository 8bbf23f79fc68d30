import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { paddedWordNetId, parseLabelMap, readLabelMap, writeLabelMap } from './labelmap.js';

const dir = mkdtempSync(join(tmpdir(), 'xai-labels-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('label map', () => {
  it('round-trips and looks up by index and WordNet ID', async () => {
    const path = join(dir, 'labels.json');
    await writeLabelMap(path, [
      { index: 1, wordNetId: 'n02958343', name: 'Automobile' },
      { index: 0, wordNetId: 'n02691156', name: 'Airplane' },
    ]);
    const map = readLabelMap(path);
    expect(map.entries.map((e) => e.index)).toEqual([0, 1]);
    expect(map.byIndex(1)?.name).toBe('Automobile');
    expect(map.byWordNetId('n02691156')?.index).toBe(0);
    expect(map.byIndex(5)).toBeUndefined();
  });

  it('accepts extra fields and repeated dummy WordNet IDs, refuses duplicate indices', () => {
    const ok = parseLabelMap('[{"index":0,"word_net_id":"x","name":"a","extra":1},{"index":1,"word_net_id":"x","name":"b"}]', 'm.json');
    expect(ok.byWordNetId('x')?.index).toBe(0); // first match wins, as in ViRelAy
    expect(() => parseLabelMap('[{"index":0,"word_net_id":"a","name":"a"},{"index":0,"word_net_id":"b","name":"b"}]', 'm.json')).toThrow(/duplicate index 0/);
    expect(() => parseLabelMap('[{"index":"0","word_net_id":"a","name":"a"}]', 'm.json')).toThrow(/entry 0: index/);
    expect(() => parseLabelMap('[{"index":0,"name":"a"}]', 'm.json')).toThrow(/word_net_id/);
    expect(() => parseLabelMap('{', 'm.json')).toThrow(/invalid JSON/);
    expect(() => readLabelMap(join(dir, 'nope.json'))).toThrow(/no such file/);
    writeFileSync(join(dir, 'obj.json'), '{"index":0}');
    expect(() => readLabelMap(join(dir, 'obj.json'))).toThrow(/not a label map/);
    expect(paddedWordNetId(3)).toBe('00000003');
  });
});
