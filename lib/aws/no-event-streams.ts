/**
 * Stands in for `@smithy/core/event-streams` where the SDK loads it lazily, in the Lambda bundles
 * only (infra/esbuild-plugins.cjs). The SDK's protocol code imports it with `import()` the first time
 * an operation streams events (CloudWatch Logs' StartLiveTail, Bedrock's streaming replies); no
 * ebship Lambda sends such an operation. Bundled, that one dynamic import made esbuild wrap the
 * module and everything it imports (most of @smithy/core) in lazy initialisers it cannot tree-shake,
 * a tenth of each function's cold import (docs/benchmarks.md). If an operation ever does stream, it
 * fails here with this message instead of deserialising garbage.
 */
const unbundled = (): never => {
  throw new Error(
    'event streams are not bundled in the ebship Lambdas (lib/aws/no-event-streams.ts): bundle @smithy/core/event-streams to send a streaming operation',
  );
};

export const eventStreamSerdeProvider = unbundled;

export class EventStreamSerde {
  constructor() {
    unbundled();
  }
}
