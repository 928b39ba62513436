/**
 * How ECR names an image: the one definition of a digest and a tag, for the push event, manual
 * requests, the CLI, alerts and bundle checks.
 */

/** An image digest: `sha256:` and 64 lowercase hex digits (ECR API reference, ImageIdentifier.imageDigest). */
export const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** ECR image tags: up to 128 characters of [A-Za-z0-9_.-], not starting with . or - (ECR API reference, ImageIdentifier.imageTag). */
export const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** An image reference pinned by digest: `<repository>@sha256:<64 hex>`. */
export const PINNED_IMAGE = /@sha256:[a-f0-9]{64}$/;

export const isDigest = (value: unknown): value is string => typeof value === 'string' && DIGEST.test(value);
export const isTag = (value: unknown): value is string => typeof value === 'string' && TAG.test(value);

/** The first digest written anywhere in `text` (e.g. the description ebship gives its EB versions). */
export function findDigest(text: string | undefined): string | undefined {
  return text?.match(/sha256:[a-f0-9]{64}/)?.[0];
}
