import { createHash } from 'node:crypto';
import { putObject } from '../aws/s3-put.js';
import { BundleInvalid } from './errors.js';

/** EB refuses source bundles over 512 MB (CreateApplicationVersion). */
export const MAX_BUNDLE_BYTES = 512 * 1024 * 1024;

/** Where a version's bundle lives in the bundle bucket. Labels never contain "/" (EB forbids it). */
export function bundleKey(application: string, versionLabel: string): string {
  return `bundles/${application}/${versionLabel}.zip`;
}

/**
 * Uploads a bundle. S3 verifies the SHA-256 it is sent (ChecksumSHA256), so a corrupted upload
 * fails here instead of as a broken application version. Returns the hex SHA-256 and size.
 */
export async function uploadBundle(
  bucket: string,
  key: string,
  bytes: Uint8Array,
): Promise<{ sha256: string; bytes: number }> {
  if (bytes.byteLength > MAX_BUNDLE_BYTES) {
    throw new BundleInvalid(
      `the bundle is ${bytes.byteLength} bytes; Elastic Beanstalk accepts at most ${MAX_BUNDLE_BYTES} (512 MB). Remove large files from the include directory`,
    );
  }
  const digest = createHash('sha256').update(bytes).digest();
  await putObject({
    bucket,
    key,
    body: bytes,
    contentType: 'application/zip',
    checksumSha256: digest.toString('base64'),
    // SSE-S3 at least, whatever the bucket default; a bucket policy may demand KMS on top.
    serverSideEncryption: 'AES256',
  });
  return { sha256: digest.toString('hex'), bytes: bytes.byteLength };
}
