/**
 * The placeholder a container's image uses to mean "the image that was just pushed, by digest".
 * Its own module, re-exported by schema.ts: BuildBundle's renderer needs it, and importing it from
 * here keeps the config schema out of that Lambda (infra/esbuild-plugins.cjs).
 */
export const PUSHED_IMAGE = '{{image}}';
