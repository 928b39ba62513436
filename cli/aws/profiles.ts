import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The AWS profiles defined on this machine, read the way the AWS CLI and SDK find them:
 * `[profile NAME]` (or `[default]`) in AWS_CONFIG_FILE (default ~/.aws/config) and `[NAME]` in
 * AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials).
 * https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-files.html
 */
export function knownProfiles(env: Record<string, string | undefined>): {
  profiles: string[];
  files: string[];
} {
  const home = env.HOME ?? env.USERPROFILE ?? homedir();
  const configFile = env.AWS_CONFIG_FILE ?? join(home, '.aws', 'config');
  const credentialsFile = env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, '.aws', 'credentials');
  const names = new Set<string>();
  for (const [file, isConfig] of [
    [configFile, true],
    [credentialsFile, false],
  ] as const) {
    for (const section of sections(file)) {
      if (!isConfig) names.add(section);
      else if (section === 'default') names.add(section);
      else if (section.startsWith('profile ')) names.add(section.slice('profile '.length).trim());
    }
  }
  return { profiles: [...names].sort(), files: [configFile, credentialsFile] };
}

function sections(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return [...text.matchAll(/^\s*\[([^\]\r\n]+)\]\s*$/gm)].map((m) => (m[1] ?? '').trim());
}

/**
 * AWS region names: partition prefix, area, number (us-east-1, us-gov-west-1, eu-central-2,
 * cn-northwest-1). Anything else would only fail later as a DNS error on a made-up endpoint.
 */
export const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
