import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getColorMap, listColorMaps, palette, zennitColorMaps } from './cmap.js';
import { CmslError } from './cmsl.js';
import { UserError } from '../errors.js';

// Expected palettes written by fixtures/make_fixtures.py (NumPy restatement of the spec, checked
// against every published vector of Zennit, docs/heatmap.md §5).
const fixture = JSON.parse(readFileSync(new URL('./fixtures/zennit-palettes.json', import.meta.url), 'utf8')) as {
  levels: number[];
  maps: Record<string, { source: string; palettes: Record<string, string> }>;
};

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const entry = (pal: Uint8Array, i: number): number[] => Array.from(pal.subarray(i * 3, i * 3 + 3));

describe('Zennit palettes', () => {
  it('covers exactly the 11 built-in maps', () => {
    expect(zennitColorMaps()).toEqual(Object.keys(fixture.maps));
  });

  for (const name of Object.keys(fixture.maps)) {
    for (const level of [1, 2, 0.5, 0.25, 1.5, 3]) {
      it(`${name} at level ${level} is byte-identical to the fixture`, () => {
        // keys are Python reprs of the level: '1.0', '0.5', …
        const key = Number.isInteger(level) ? `${level}.0` : `${level}`;
        expect(fixture.maps[name].palettes[key]).toBeDefined();
        expect(hex(palette(name, level))).toBe(fixture.maps[name].palettes[key]);
      });
    }
    it(`${name} compiled from its CMSL source gives the same palette`, () => {
      expect(hex(palette(fixture.maps[name].source, 2))).toBe(hex(palette(name, 2)));
    });
  }

  it('matches the published checkpoints of Zennit’s palettes', () => {
    const bwr2 = palette('bwr', 2);
    expect(entry(bwr2, 100)).toEqual([144, 144, 255]);
    expect(entry(bwr2, 128)).toEqual([255, 253, 253]);
    expect(entry(palette('coldnhot', 2), 127)).toEqual([0, 0, 5]);
    expect(entry(palette('hot'), 129)).toEqual([255, 132, 0]);
    expect(entry(palette('bwr', 0.5), 0)).toEqual([127, 127, 255]);
  });
});

describe('registry', () => {
  it('lists Zennit and ViRelAy maps with distinct names for the two seismics', () => {
    const names = listColorMaps();
    for (const n of ['black-fire-red', 'gray-red', 'black-green', 'black-yellow', 'blue-white-red', 'afm-hot', 'jet', 'seismic', 'virelay-seismic']) {
      expect(names).toContain(n);
    }
    expect(new Set(names).size).toBe(names.length);
    expect(getColorMap('seismic').origin).toBe('zennit');
    expect(getColorMap('virelay-seismic').origin).toBe('virelay');
  });

  it('gives ViRelAy maps their characteristic colours', () => {
    // black-fire-red: black at 0, white at both ends; jet: dark blue to dark red (Matplotlib values)
    expect(entry(palette('black-fire-red'), 0)).toEqual([255, 255, 255]);
    expect(entry(palette('black-fire-red'), 255)).toEqual([255, 255, 255]);
    expect(Math.max(...entry(palette('black-fire-red'), 128))).toBeLessThan(8);
    expect(entry(palette('jet'), 0)).toEqual([0, 0, 127]);
    expect(entry(palette('jet'), 255)).toEqual([127, 0, 0]);
    expect(entry(palette('blue-white-red'), 0)).toEqual([0, 0, 255]);
    expect(entry(palette('afm-hot'), 0)).toEqual([0, 0, 0]);
    expect(entry(palette('afm-hot'), 255)).toEqual([255, 255, 255]);
    expect(entry(palette('virelay-seismic'), 0)).toEqual([0, 0, 76]);
    expect(entry(palette('gray-red'), 255)).toEqual([255, 0, 0]);
    expect(entry(palette('black-green'), 255)).toEqual([0, 255, 0]);
    expect(entry(palette('black-yellow'), 0)).toEqual([0, 0, 255]);
  });

  it('rejects an unknown name with the list of valid ones', () => {
    expect(() => getColorMap('viridis')).toThrow(UserError);
    expect(() => getColorMap('viridis')).toThrow(/unknown colour map "viridis"; valid names: gray, .*coldnhot.*black-fire-red/);
  });

  it('compiles CMSL sources given instead of a name', () => {
    const map = getColorMap('000,a0:f00,fff');
    expect(map.origin).toBe('cmsl');
    expect(map.controlPoints?.indices).toEqual([0, 160, 255, 256]);
  });

  it('reports the position of a CMSL error', () => {
    try {
      getColorMap('00f,80:fxf,f00');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CmslError);
      expect((error as CmslError).position).toBe(7);
      expect((error as Error).message).toMatch(/column 8/);
    }
  });
});
