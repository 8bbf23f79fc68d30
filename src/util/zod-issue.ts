import type { z } from 'zod';

/** Where a zod issue points, as the readers name it; undefined: the document as a whole. */
export type IssueWhere = (path: readonly PropertyKey[]) => string | undefined;

const dotted: IssueWhere = (path) => (path.length > 0 ? path.map(String).join('.') : undefined);

/**
 * One line for the first issue of a failed `safeParse`: "<where>: <message>", or the bare message
 * for an issue about the document as a whole (by default: an empty path). Readers pass their own
 * `where` to say "entry 3" or to quote the key.
 */
export function describeZodIssue(error: z.ZodError, where: IssueWhere = dotted): string {
  const issue = error.issues[0]!;
  const place = where(issue.path);
  return place === undefined ? issue.message : `${place}: ${issue.message}`;
}
