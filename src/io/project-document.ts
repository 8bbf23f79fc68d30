/**
 * From a parsed YAML document to a validated plain value: aliases are expanded under a budget
 * (a "billion laughs" document of a few hundred bytes would otherwise expand to gigabytes), then
 * every field's type and range is checked (project-validate.ts). Problems are UserErrors naming the file.
 */
import type { Document } from 'yaml';
import { UserError } from '../errors.js';
import { FieldError, validateProjectFields } from './project-validate.js';

/** More alias expansions than any hand-written project needs (the yaml package's own default). */
const MAX_ALIAS_COUNT = 100;

export function validatedDocument(document: Document, file: string): { raw: unknown; warnings: string[] } {
  let raw: unknown;
  try {
    raw = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/alias/i.test(message))
      throw new UserError(file, `YAML aliases expand too far (over ${MAX_ALIAS_COUNT} expansions, as in a "billion laughs" document); refused`);
    throw new UserError(file, `invalid YAML: ${message.split('\n')[0]}`);
  }
  try {
    return { raw, warnings: validateProjectFields(raw) };
  } catch (error) {
    if (error instanceof FieldError) throw new UserError(file, error.message);
    throw error;
  }
}
