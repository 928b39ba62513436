import { EbshipError } from '../errors.js';

/**
 * The bundle cannot be built from this config or include directory: a user file collides with a
 * generated one, a path escapes the include directory, a secret has no ARN, the zip is too large.
 * Not retried: the same input gives the same bundle, so the fix is in ebship.yml or the include dir.
 */
export class BundleInvalid extends EbshipError {
  override readonly name = 'BundleInvalid';
}
