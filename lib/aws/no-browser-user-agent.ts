/**
 * Stands in for `bowser`, a browser detector, in the Lambda bundles only (serverless.yml, esbuild
 * `alias`). The SDK loads it lazily to parse `window.navigator.userAgent`, which Node has none of, so
 * in Lambda it is never called; bundled, it was 37 KB of every function. Same shape, no detection.
 */
export const parse = (): Record<string, never> => ({});
export default { parse };
