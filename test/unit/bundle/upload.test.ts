import { createHash } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { BundleInvalid } from '../../../lib/bundle/errors.js';
import { bundleKey, MAX_BUNDLE_BYTES, uploadBundle } from '../../../lib/bundle/upload.js';
import { zipBundle } from '../../../lib/bundle/zip.js';

const s3 = new S3Client({ region: 'us-east-1' });
const s3Mock = mockClient(s3);

beforeEach(() => {
  s3Mock.reset();
});

describe('bundleKey', () => {
  it('files bundles by application and version label', () => {
    // Act / Assert
    expect(bundleKey('antenna', 'v1.4.2-9f86d081')).toBe('bundles/antenna/v1.4.2-9f86d081.zip');
  });
});

describe('uploadBundle', () => {
  it('puts the zip with its SHA-256 checksum, encryption and content type', async () => {
    // Arrange
    s3Mock.on(PutObjectCommand).resolves({});
    const bytes = zipBundle({ Procfile: 'web: run\n' });
    const digest = createHash('sha256').update(bytes).digest();

    // Act
    const result = await uploadBundle(s3, 'ebship-bundles', 'bundles/antenna/v1.zip', bytes);

    // Assert
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'ebship-bundles',
      Key: 'bundles/antenna/v1.zip',
      Body: bytes,
      ContentType: 'application/zip',
      ChecksumSHA256: digest.toString('base64'),
      ServerSideEncryption: 'AES256',
    });
    expect(result).toEqual({ sha256: digest.toString('hex'), bytes: bytes.byteLength });
  });

  it('refuses a bundle over 512 MB before sending anything', async () => {
    // Arrange: a view claiming to be one byte too large, without allocating 512 MB.
    const tooLarge = { byteLength: MAX_BUNDLE_BYTES + 1 } as Uint8Array;

    // Act
    const upload = uploadBundle(s3, 'ebship-bundles', 'bundles/antenna/v1.zip', tooLarge);

    // Assert
    await expect(upload).rejects.toThrow(BundleInvalid);
    await expect(upload).rejects.toThrow(/at most 536870912 \(512 MB\)/);
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 0);
  });

  it('lets an S3 error through to the caller', async () => {
    // Arrange
    s3Mock.on(PutObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));

    // Act / Assert
    await expect(uploadBundle(s3, 'ebship-bundles', 'k.zip', zipBundle({ Procfile: 'x' }))).rejects.toThrow(
      'Access Denied',
    );
  });
});
