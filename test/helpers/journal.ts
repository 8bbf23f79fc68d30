import { existsSync, readFileSync } from 'node:fs';

/**
 * Waits until a run's journal records at least `min` finished rows (or the child exits) and returns
 * the count it read (0 when it never got there). Polls the file: the journal is the run's own signal
 * of progress, so tests wait on an event rather than a guess at a duration.
 */
export async function journalRows(journal: string, min: number, child: { exitCode: number | null }, pollMs = 10): Promise<number> {
  for (let waited = 0; waited < 120_000 && child.exitCode === null; waited += pollMs) {
    await new Promise((r) => setTimeout(r, pollMs));
    if (!existsSync(journal)) continue;
    try {
      const rows = JSON.parse(readFileSync(journal, 'utf8')).rows as number;
      if (rows >= min) return rows;
    } catch {
      // replaced while being read
    }
  }
  return 0;
}
