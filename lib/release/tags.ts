import picomatch from 'picomatch';
import type { TagPattern, Target } from '../config/schema.js';

/**
 * Which image tags deploy to a target (`source.tags`, `source.ignoreTags`). Its own module, free of
 * the request parser's schemas, so the steps that only match tags (the reconciler, promotions) stay small.
 */

/** Why a tag does not deploy to a target, or undefined when it does. */
export function tagRejection(tag: string, target: Target): string | undefined {
  if (target.source.ignoreTags.includes(tag)) return 'is an ignored tag';
  return tagMatches(tag, target.source.tags)
    ? undefined
    : `does not match ${describePattern(target.source.tags)}`;
}

export function tagMatches(tag: string, pattern: TagPattern): boolean {
  return typeof pattern === 'string'
    ? picomatch.isMatch(tag, pattern, { dot: true })
    : new RegExp(pattern.regex).test(tag);
}

function describePattern(pattern: TagPattern): string {
  return typeof pattern === 'string' ? `the tag pattern "${pattern}"` : `the tag regex /${pattern.regex}/`;
}
