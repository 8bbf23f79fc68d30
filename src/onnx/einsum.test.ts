/**
 * The Einsum rewrite against onnxruntime's own Einsum: each equation runs as one Einsum node and,
 * after the model is read, as the Transpose/MatMul graph it became; the outputs must agree, and
 * shape inference must give onnxruntime's output shape (before and after the rewrite).
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../util/mulberry32.js';
import { attr, emptyGraph, GraphBuilder, modelOf } from './builder.js';
import { decodeModel, encodeModel } from './codec.js';
import { einsumShape, parseEinsum } from './einsum-equation.js';
import { runModel } from './ort.js';
import { inferValues } from './shapes.js';

function random(n: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: n }, () => rand() * 2 - 1);
}

/** An Einsum of graph inputs (shapes `shapes`), optionally with the second operand constant. */
function einsumModel(equation: string, shapes: number[][], constantSecond = false) {
  const b = new GraphBuilder(emptyGraph());
  const names = shapes.map((shape, i) => {
    const name = `x${i}`;
    if (constantSecond && i === 1)
      return b.constant(
        random(
          shape.reduce((a, c) => a * c, 1),
          99,
        ),
        shape,
        'w',
      );
    b.addInput(name, 'float32', shape);
    return name;
  });
  const [y] = b.addNode('Einsum', names, { equation: attr.string(equation) });
  b.addOutput(y!, 'float32');
  return { bytes: encodeModel(modelOf(b.graph, 13)), output: y! };
}

async function expectRewritten(equation: string, shapes: number[][], constantSecond = false): Promise<string[]> {
  const { bytes, output } = einsumModel(equation, shapes, constantSecond);
  const feeds = Object.fromEntries(
    shapes.flatMap((shape, i) =>
      constantSecond && i === 1
        ? []
        : [
            [
              `x${i}`,
              {
                data: random(
                  shape.reduce((a, c) => a * c, 1),
                  i + 1,
                ),
                dims: shape,
              },
            ],
          ],
    ),
  );
  const expected = (await runModel(bytes, feeds)).get(output)!;
  const model = decodeModel(bytes);
  const ops = model.graph.nodes.map((n) => n.opType);
  expect(ops).not.toContain('Einsum');
  const actual = (await runModel(model, feeds)).get(output)!;
  expect(actual.dims).toEqual(expected.dims);
  for (let i = 0; i < expected.data.length; i++) expect(actual.data[i]).toBeCloseTo(expected.data[i]!, 5);
  expect(inferValues(model).get(output)?.shape).toEqual(expected.dims);
  const eq = parseEinsum(equation);
  expect(typeof eq === 'string' ? eq : einsumShape(eq, shapes)).toEqual(expected.dims);
  return ops;
}

describe('Einsum → Transpose/MatMul, checked against onnxruntime', () => {
  it('attention scores and context, as torch writes them (MaxViT: spaced capitals)', async () => {
    expect(
      await expectRewritten('bhid,bhjd->bhij', [
        [2, 3, 4, 5],
        [2, 3, 6, 5],
      ]),
    ).toEqual(['Transpose', 'MatMul']);
    expect(
      await expectRewritten('bhij,bhjd->bhid', [
        [2, 3, 4, 6],
        [2, 3, 6, 5],
      ]),
    ).toEqual(['MatMul']);
    await expectRewritten('B G H I D, B G H J D -> B G H I J', [
      [2, 2, 1, 4, 3],
      [2, 2, 1, 4, 3],
    ]);
    await expectRewritten('B G H I J, B G H J D -> B G H I D', [
      [2, 2, 1, 4, 4],
      [2, 2, 1, 4, 3],
    ]);
  });

  it('batched and plain matmuls, transposed operands, permuted and implicit outputs', async () => {
    expect(
      await expectRewritten('bij,bjk->bik', [
        [2, 3, 4],
        [2, 4, 5],
      ]),
    ).toEqual(['MatMul']);
    await expectRewritten('ij,kj->ik', [
      [3, 4],
      [5, 4],
    ]);
    await expectRewritten('ji,jk->ik', [
      [4, 3],
      [4, 5],
    ]);
    await expectRewritten('bij,bjk->bki', [
      [2, 3, 4],
      [2, 4, 5],
    ]);
    await expectRewritten('ibh,jbh->bhij', [
      [3, 2, 4],
      [5, 2, 4],
    ]);
    await expectRewritten('ij,jk', [
      [3, 4],
      [4, 5],
    ]);
    await expectRewritten('bhd,bhd->bh', [
      [2, 3, 4],
      [2, 3, 4],
    ]);
    await expectRewritten('bi,bj->bij', [
      [2, 3],
      [2, 4],
    ]);
    await expectRewritten('bi,bij->bj', [
      [2, 3],
      [2, 3, 4],
    ]);
  });

  it('a leading ellipsis (one rank in both operands, as ONNX requires)', async () => {
    await expectRewritten('...ij,...jk->...ik', [
      [2, 3, 4, 5],
      [2, 3, 5, 6],
    ]);
    await expectRewritten('...ij,...jk->...ik', [
      [4, 5],
      [5, 6],
    ]);
    await expectRewritten('...ij,...kj', [
      [2, 4, 5],
      [2, 6, 5],
    ]);
    await expectRewritten('...id,...jd->...ij', [
      [2, 3, 4, 5],
      [2, 3, 6, 5],
    ]);
  });

  it('several free labels in one operand: the extra ones are broadcast batch dims', async () => {
    expect(
      await expectRewritten('bij,jk->bik', [
        [2, 3, 4],
        [4, 5],
      ]),
    ).toEqual(['MatMul']);
    await expectRewritten('bhld,lrd->bhlr', [
      [2, 3, 4, 5],
      [4, 6, 5],
    ]);
    await expectRewritten('bi,jik->bjk', [
      [2, 3],
      [4, 3, 5],
    ]);
    await expectRewritten('bnd,md->bnm', [
      [2, 3, 4],
      [5, 4],
    ]);
  });

  it('several contracted labels, merged into one dim', async () => {
    const cases: Array<[string, number[][], boolean]> = [
      [
        'bijk,bjkl->bil',
        [
          [2, 3, 4, 5],
          [2, 4, 5, 6],
        ],
        false,
      ],
      [
        'abcd,cde->abe',
        [
          [2, 3, 4, 5],
          [4, 5, 6],
        ],
        true,
      ],
      [
        'nchw,kchw->nk',
        [
          [2, 3, 2, 2],
          [5, 3, 2, 2],
        ],
        true,
      ],
      [
        'bhqd,bhkd->bqk',
        [
          [2, 3, 4, 5],
          [2, 3, 6, 5],
        ],
        false,
      ],
      [
        'bij,bij->b',
        [
          [2, 3, 4],
          [2, 3, 4],
        ],
        false,
      ],
    ];
    for (const [equation, shapes, constant] of cases) await expectRewritten(equation, shapes, constant);
  });

  it('a constant operand (weights) and a one-operand permutation', async () => {
    await expectRewritten(
      'bij,jk->bik',
      [
        [2, 3, 4],
        [4, 5],
      ],
      true,
    );
    await expectRewritten('bhid->bihd', [[2, 3, 4, 5]]);
    await expectRewritten('...ij->...ji', [[2, 3, 4, 5]]);
  });

  it('leaves other equations as Einsum nodes (refused when attributed, see compiler tests)', () => {
    for (const [equation, shapes] of [
      ['ii->i', [[3, 3]]],
      [
        'bij,bjk->b',
        [
          [2, 3, 4],
          [2, 4, 5],
        ],
      ],
      [
        '...ij,...jk->...ik',
        [
          [2, 3, 4, 5],
          [3, 5, 6],
        ],
      ],
      [
        'ij,jk,kl->il',
        [
          [2, 3],
          [3, 4],
          [4, 5],
        ],
      ],
      [
        'i...j,j...k->i...k',
        [
          [2, 3, 4],
          [4, 3, 5],
        ],
      ],
    ] as Array<[string, number[][]]>) {
      const model = decodeModel(einsumModel(equation, shapes).bytes);
      expect(model.graph.nodes.map((n) => n.opType)).toEqual(['Einsum']);
    }
  });
});
