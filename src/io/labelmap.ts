/**
 * Label map JSON (docs/formats.md §2): an array of `{index, word_net_id, name}`, one per class.
 * ViRelAy resolves lookups linearly with the first match winning, so a duplicate `index` would
 * silently shadow a class: we refuse it. `word_net_id` values may repeat (dummies are allowed).
 */
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { writeAtomically } from '../util/atomic.js';
import { inputName } from '../util/stdin.js';
import { readTextFile } from '../util/text-file.js';
import { describeZodIssue } from '../util/zod-issue.js';

export interface LabelEntry {
  index: number;
  wordNetId: string;
  name: string;
}

const entrySchema = z.looseObject({
  index: z.number().int().nonnegative(),
  word_net_id: z.string(),
  name: z.string(),
});
const labelMapSchema = z.array(entrySchema);

export class LabelMap {
  private readonly indexLookup = new Map<number, LabelEntry>();
  private readonly wordNetLookup = new Map<string, LabelEntry>();

  constructor(readonly entries: LabelEntry[]) {
    for (const entry of entries) {
      this.indexLookup.set(entry.index, entry);
      // First match wins, as in ViRelAy.
      if (!this.wordNetLookup.has(entry.wordNetId)) this.wordNetLookup.set(entry.wordNetId, entry);
    }
  }

  byIndex(index: number): LabelEntry | undefined {
    return this.indexLookup.get(index);
  }

  byWordNetId(id: string): LabelEntry | undefined {
    return this.wordNetLookup.get(id);
  }

  /** Number of classes (entries). */
  get size(): number {
    return this.entries.length;
  }
}

/** The zero-padded 8-digit WordNet-style id used for datasets without WordNet IDs (docs/formats.md §2). */
export function paddedWordNetId(index: number): string {
  return String(index).padStart(8, '0');
}

/** "entry 3: index", "top level": where a label-map issue points. */
function entryWhere(path: readonly PropertyKey[]): string {
  const [position, ...rest] = path;
  return typeof position === 'number' ? `entry ${position}${rest.length ? `: ${rest.join('.')}` : ''}` : path.join('.') || 'top level';
}

/** Parses label-map JSON text; `file` names the source in errors. */
export function parseLabelMap(text: string, file: string): LabelMap {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // Node's message quotes the text around the error, newlines included: keep it to one line.
    throw new UserError(file, `invalid JSON: ${(error as Error).message.replace(/\s*\n\s*/g, ' ')}`);
  }
  const parsed = labelMapSchema.safeParse(json);
  if (!parsed.success) throw new UserError(file, `not a label map (${describeZodIssue(parsed.error, entryWhere)})`);
  const seen = new Map<number, number>();
  const entries = parsed.data.map((raw, position) => {
    const earlier = seen.get(raw.index);
    if (earlier !== undefined) throw new UserError(file, `duplicate index ${raw.index} (entries ${earlier} and ${position})`);
    seen.set(raw.index, position);
    return { index: raw.index, wordNetId: raw.word_net_id, name: raw.name };
  });
  return new LabelMap(entries);
}

export function readLabelMap(path: string): LabelMap {
  return parseLabelMap(readTextFile(path, 'a label map'), inputName(path));
}

/** Writes a label map (entries sorted by index) atomically. */
export async function writeLabelMap(path: string, entries: LabelEntry[]): Promise<void> {
  const seen = new Set<number>();
  for (const e of entries) {
    if (seen.has(e.index)) throw new UserError(path, `duplicate index ${e.index}`);
    seen.add(e.index);
  }
  const json = [...entries].sort((a, b) => a.index - b.index).map((e) => ({ index: e.index, word_net_id: e.wordNetId, name: e.name }));
  await writeAtomically(path, (tmp) => writeFileSync(tmp, `${JSON.stringify(json, null, 2)}\n`));
}
