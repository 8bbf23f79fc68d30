import { describe, expect, it } from 'vitest';
import { CmslError, compileCmsl, lex } from './cmsl.js';

const positionOf = (source: string): number => {
  try {
    compileCmsl(source);
  } catch (error) {
    if (error instanceof CmslError) return error.position;
    throw error;
  }
  throw new Error(`${source} compiled`);
};

describe('CMSL', () => {
  it('lexes greedily in the reference order', () => {
    expect(lex('fffff').map((t) => [t.type, t.value])).toEqual([
      ['shortcolor', 'fff'],
      ['index', 'ff'],
    ]);
    expect(lex('80fff').map((t) => t.value)).toEqual(['80f', 'ff']);
  });

  it('compiles the documented examples (docs/heatmap.md §1)', () => {
    expect(compileCmsl('000,a0:f00,fff').indices).toEqual([0, 160, 255, 256]);
    expect(compileCmsl('3f:ccc,f0f,000')).toEqual({
      indices: [0, 63, 159, 255, 256],
      colors: [
        [204, 204, 204],
        [204, 204, 204],
        [255, 0, 255],
        [0, 0, 0],
        [0, 0, 0],
      ],
    });
    expect(compileCmsl('55:00f,55:ddd,aa:ddd,aa:f00').indices).toEqual([0, 85, 85, 170, 170, 256]);
    expect(compileCmsl('2:800,2:f00,4:f00,80:fff,b:00f,d:00f,d:008').indices).toEqual([0, 34, 34, 68, 128, 187, 221, 221, 256]);
    expect(compileCmsl('fff,000,fff,000,fff,d:000,fff,e:000,fff,000,fff,000').indices).toEqual([0, 44, 88, 132, 176, 221, 229, 238, 242, 246, 250, 255, 256]);
    expect(compileCmsl('7:000, 9:ffffff')).toEqual({
      indices: [0, 119, 153, 256],
      colors: [
        [0, 0, 0],
        [0, 0, 0],
        [255, 255, 255],
        [255, 255, 255],
      ],
    });
    expect(compileCmsl('000,fff,').indices).toEqual([0, 255, 256]);
    expect(compileCmsl('F80 , 0055A4').colors[0]).toEqual([255, 136, 0]);
  });

  it('rejects every documented error with the offending position', () => {
    expect(positionOf('this')).toBe(0);
    expect(positionOf('fff')).toBe(3); // end of source: only one colour
    expect(positionOf(',,,')).toBe(0);
    expect(positionOf('111:111:111')).toBe(3);
    expect(positionOf('fffff,fffff')).toBe(3); // colour fff then a stray index ff
    expect(positionOf('f,f')).toBe(1);
    expect(positionOf('fffffffff')).toBe(6);
    expect(positionOf('ff:')).toBe(2);
    expect(positionOf('ff:fff,00:000')).toBe(7);
    expect(positionOf('000,,fff')).toBe(4);
    expect(positionOf('000, 80:fff, 12:f00')).toBe(13);
    expect(positionOf('000,fff,zzz')).toBe(8);
  });

  it('says what is wrong in one line', () => {
    expect(() => compileCmsl('00f,80:fff,,f00')).toThrow(/^colour map "00f,80:fff,,f00": unexpected "," at column 12$/);
    expect(() => compileCmsl('000,fff,zzz')).toThrow(/unexpected "zzz" at column 9/);
  });
});
