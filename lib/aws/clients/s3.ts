import { S3Client } from '@aws-sdk/client-s3';
import { uploadRequestHandler } from './timeouts.js';

// Path-style addressing for endpoints without per-bucket host names (the local stand-in on 127.0.0.1).
export const s3 = new S3Client({
  forcePathStyle: process.env.EBSHIP_S3_PATH_STYLE === 'true',
  requestHandler: uploadRequestHandler,
});
