import { S3Client } from '@aws-sdk/client-s3';
import { uploadRequestHandler } from './timeouts.js';

// Marked pure: a bundle that imports this module but never sends through the client leaves it out
// (esbuild keeps any unannotated `new` at module scope), and its cold start does not build it.
// Path-style addressing for endpoints without per-bucket host names (the local stand-in on 127.0.0.1).
export const s3 = /* @__PURE__ */ new S3Client({
  forcePathStyle: process.env.EBSHIP_S3_PATH_STYLE === 'true',
  requestHandler: uploadRequestHandler,
});
