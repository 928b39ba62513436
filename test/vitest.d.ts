import type { CustomMatcher } from 'aws-sdk-client-mock-vitest';

// aws-sdk-client-mock-vitest 6 augments vitest's `Assertion`, which vitest 4 only re-exports, so the
// augmentation does not merge; vitest 4 documents `Matchers` as the interface to extend.
declare module 'vitest' {
  // biome-ignore lint/suspicious/noExplicitAny: must match vitest's own declaration of Matchers<T = any>.
  interface Matchers<T = any> extends CustomMatcher<T> {}
}
