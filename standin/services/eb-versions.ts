import { unzipSync } from 'fflate';
import { parse as parseYaml } from 'yaml';

/** What EB makes of an application version's source bundle: at processing, and on the instances. */

/** The files of a zip bundle, or why it is not one. */
export function unzipBundle(zip: Buffer): Record<string, string> | string {
  try {
    const decoder = new TextDecoder();
    return Object.fromEntries(
      Object.entries(unzipSync(new Uint8Array(zip))).map(([name, bytes]) => [name, decoder.decode(bytes)]),
    );
  } catch (err) {
    return `the source bundle is not a valid zip file (${(err as Error).message})`;
  }
}

/**
 * What EB's processing of a version (CreateApplicationVersion Process=true) refuses: a zip it cannot
 * open, or an `.ebextensions/*.config` that is not a YAML/JSON mapping. Process validates env.yaml and
 * .ebextensions only (EB API reference, CreateApplicationVersion, Process): Docker configuration is
 * not checked there (see dockerProblem).
 */
export function processingProblem(zip: Buffer): string | undefined {
  const files = unzipBundle(zip);
  if (typeof files === 'string') return files;
  for (const [name, text] of Object.entries(files)) {
    if (/^\.ebextensions\/[^/]+\.config$/.test(name)) {
      try {
        const doc: unknown = parseYaml(text);
        if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
          return `The configuration file ${name} in application version does not contain a valid YAML or JSON mapping.`;
        }
      } catch (err) {
        return `The configuration file ${name} in application version contains invalid YAML or JSON. YAML exception: ${(err as Error).message.split('\n')[0]}`;
      }
    }
  }
  return undefined;
}

/** A Docker configuration the instances cannot use: Dockerrun.aws.json or docker-compose.yml unparsable. */
export function dockerProblem(zip: Buffer): string | undefined {
  const files = unzipBundle(zip);
  if (typeof files === 'string') return undefined;
  const dockerrun = files['Dockerrun.aws.json'];
  if (dockerrun !== undefined) {
    try {
      const doc: unknown = JSON.parse(dockerrun);
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
        return 'Dockerrun.aws.json is not an object';
    } catch (err) {
      return `Dockerrun.aws.json is not valid JSON: ${(err as Error).message}`;
    }
  }
  const compose = files['docker-compose.yml'] ?? files['docker-compose.yaml'];
  if (compose !== undefined) {
    try {
      const doc: unknown = parseYaml(compose);
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
        return 'docker-compose.yml is not a mapping';
    } catch (err) {
      return `docker-compose.yml is not valid YAML: ${(err as Error).message.split('\n')[0]}`;
    }
  }
  return undefined;
}
