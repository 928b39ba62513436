import { findDigest } from './image-ref.js';

/**
 * EB version labels: 1-100 characters, no "/", unique per application
 * (https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_CreateApplicationVersion.html).
 * Derived from tag + short digest, so the same digest under the same tag always maps to the same
 * label (a re-push reuses the version) and two digests under one mutable tag never collide.
 */
export const MAX_LABEL = 100;
const SHORT_DIGEST = 12;

export function versionLabel(imageTag: string | undefined, imageDigest: string): string {
  const short = shortDigest(imageDigest);
  const prefix = (imageTag ?? 'untagged')
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, MAX_LABEL - short.length - 1);
  return `${prefix}-${short}`;
}

export function shortDigest(imageDigest: string): string {
  return imageDigest.replace(/^sha256:/, '').slice(0, SHORT_DIGEST);
}

/** The description ebship writes on its versions; `digestFromDescription` reads the digest back. */
export function versionDescription(
  repository: string,
  imageTag: string | undefined,
  imageDigest: string,
): string {
  return `ebship ${repository}${imageTag ? `:${imageTag}` : ''} ${imageDigest}`.slice(0, 200);
}

export function digestFromDescription(description: string | undefined): string | undefined {
  return findDigest(description);
}
