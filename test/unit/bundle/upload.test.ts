/**
 * uploadBundle through the wire: a signed PutObject to the stand-in's S3 (S3 API reference,
 * PutObject: x-amz-checksum-sha256 is checked and a mismatch refused with 400 BadDigest;
 * x-amz-server-side-encryption; errors as an XML <Error> document with <Code> and <Message>).
 */
import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { objectUrl, S3Error } from '../../../lib/aws/s3-put.js';
import { BundleInvalid } from '../../../lib/bundle/errors.js';
import { bundleKey, MAX_BUNDLE_BYTES, uploadBundle } from '../../../lib/bundle/upload.js';
import { listZip, zipBundle } from '../../../lib/bundle/zip.js';
import { BUCKET, s3 } from '../../support/aws-env.js';

beforeEach(() => s3.reset());

describe('bundleKey', () => {
  it('files bundles by application and version label', () => {
    // Act / Assert
    expect(bundleKey('antenna', 'v1.4.2-9f86d081')).toBe('bundles/antenna/v1.4.2-9f86d081.zip');
  });
});

describe('uploadBundle', () => {
  it('puts the zip, signed, with its SHA-256 checksum (which S3 verifies), encryption and content type', async () => {
    // Arrange
    const bytes = zipBundle({ Procfile: 'web: run\n' });
    const digest = createHash('sha256').update(bytes).digest();

    // Act
    const result = await uploadBundle(BUCKET, 'bundles/antenna/v1.zip', bytes);

    // Assert
    expect(result).toEqual({ sha256: digest.toString('hex'), bytes: bytes.byteLength });
    const stored = s3.object('bundles/antenna/v1.zip');
    expect(listZip(stored?.body ?? new Uint8Array())).toEqual({ Procfile: 'web: run\n' });
    expect(stored).toMatchObject({
      contentType: 'application/zip',
      checksumSha256: digest.toString('base64'),
    });
    const [put] = s3.requests;
    expect(put).toMatchObject({ method: 'PUT', path: `/${BUCKET}/bundles/antenna/v1.zip` });
    expect(put?.headers).toMatchObject({
      'x-amz-server-side-encryption': 'AES256',
      'x-amz-checksum-sha256': digest.toString('base64'),
      authorization: expect.stringMatching(
        /^AWS4-HMAC-SHA256 Credential=test\/\d{8}\/us-east-1\/s3\/aws4_request, SignedHeaders=.*x-amz-checksum-sha256.*, Signature=[0-9a-f]{64}$/,
      ),
    });
  });

  it('refuses a bundle over 512 MB before sending anything', async () => {
    // Arrange: a view claiming to be one byte too large, without allocating 512 MB.
    const tooLarge = { byteLength: MAX_BUNDLE_BYTES + 1 } as Uint8Array;

    // Act
    const upload = uploadBundle(BUCKET, 'bundles/antenna/v1.zip', tooLarge);

    // Assert
    await expect(upload).rejects.toThrow(BundleInvalid);
    await expect(upload).rejects.toThrow(/at most 536870912 \(512 MB\)/);
    expect(s3.requests).toEqual([]);
  });

  it("passes S3's refusal on with its code and message (a 4xx is not tried again)", async () => {
    // Arrange
    s3.fail('AccessDenied', 'Access Denied', 403);

    // Act
    const upload = uploadBundle(BUCKET, 'k.zip', zipBundle({ Procfile: 'x' }));

    // Assert
    await expect(upload).rejects.toThrow(S3Error);
    await expect(upload).rejects.toMatchObject({
      name: 'AccessDenied',
      message: 'Access Denied',
      $metadata: { httpStatusCode: 403 },
    });
    expect(s3.requests).toHaveLength(1);
    expect(s3.keys()).toEqual([]);
  });

  it('tries a 5xx or SlowDown twice more, then lets it through for the state machine to retry', async () => {
    // Arrange: S3's own throttling answer (503 SlowDown), then an internal error
    s3.fail('SlowDown', 'Please reduce your request rate.', 503);
    s3.fail('InternalError', 'We encountered an internal error. Please try again.', 500);

    // Act
    await uploadBundle(BUCKET, 'bundles/antenna/v2.zip', zipBundle({ Procfile: 'x' }));
    s3.fail('InternalError', 'We encountered an internal error. Please try again.', 500, 3);
    const failing = uploadBundle(BUCKET, 'bundles/antenna/v3.zip', zipBundle({ Procfile: 'x' }));

    // Assert
    expect(s3.keys()).toEqual(['bundles/antenna/v2.zip']);
    await expect(failing).rejects.toMatchObject({
      name: 'InternalError',
      $metadata: { httpStatusCode: 500 },
    });
    expect(s3.requests).toHaveLength(6);
  });
});

describe('objectUrl', () => {
  it("is the bucket's virtual-hosted name on AWS, and path-style on an endpoint that asks for it", () => {
    // Act / Assert
    expect(objectUrl('ebship-prod-bundles', 'bundles/antenna/v1 a.zip', 'eu-west-1', {})).toBe(
      'https://ebship-prod-bundles.s3.eu-west-1.amazonaws.com/bundles/antenna/v1%20a.zip',
    );
    expect(objectUrl('b', 'k.zip', 'cn-north-1', {})).toBe('https://b.s3.cn-north-1.amazonaws.com.cn/k.zip');
    expect(
      objectUrl('b', 'bundles/k.zip', 'us-east-1', {
        AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
        EBSHIP_S3_PATH_STYLE: 'true',
      }),
    ).toBe('http://127.0.0.1:4566/b/bundles/k.zip');
    expect(objectUrl('b', 'k.zip', 'us-east-1', { AWS_ENDPOINT_URL_S3: 'https://s3.example.test' })).toBe(
      'https://b.s3.example.test/k.zip',
    );
  });
});
