/**
 * Label map JSON (docs/formats.md §2): an array of `{index, word_net_id, name}`, one per class.
 * ViRelAy resolves lookups linearly with the first match winning, so a duplicate `index` would
 * silently shadow a class: we refuse it. `word_net_id` values may repeat (dummies are allowed).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { writeAtomically } from '../util/atomic.js';

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

/** Describes the first zod issue as "entry 3: index: expected a number". */
function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const [position, ...rest] = issue.path;
  const where = typeof position === 'number' ? `entry ${position}${rest.length ? `: ${rest.join('.')}` : ''}` : issue.path.join('.') || 'top level';
  return `${where}: ${issue.message}`;
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
  if (!parsed.success) throw new UserError(file, `not a label map (${describeIssue(parsed.error)})`);
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
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(path, code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a label map' : `cannot read (${code})`);
  }
  return parseLabelMap(text, path);
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
