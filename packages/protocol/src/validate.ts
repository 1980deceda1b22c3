import type { z } from 'zod';
import { LetterError } from './errors.js';

/** Formats the first zod issue as `field: message`, the way error bodies name the field. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid input';
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** Parses input with a schema or throws `bad_request` naming the field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new LetterError('bad_request', describeIssue(result.error));
  return result.data;
}
