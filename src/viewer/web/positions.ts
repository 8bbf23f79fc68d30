/**
 * Sample index → position of its point in the drawn arrays. A typed table instead of a Map: a
 * million-point category builds it in milliseconds (a Map of a million entries takes far longer
 * and is the largest part of switching to such a category). The first point of a sample wins.
 */
export class PositionIndex {
  private readonly table: Int32Array;

  constructor(index: Int32Array = new Int32Array(0)) {
    let max = -1;
    for (let i = 0; i < index.length; i++) if (index[i] > max) max = index[i];
    this.table = new Int32Array(max + 1).fill(-1);
    for (let i = index.length - 1; i >= 0; i--) if (index[i] >= 0) this.table[index[i]] = i;
  }

  has(sample: number): boolean {
    return this.get(sample) !== undefined;
  }

  get(sample: number): number | undefined {
    const position = sample >= 0 && sample < this.table.length ? this.table[sample] : -1;
    return position < 0 ? undefined : position;
  }
}
