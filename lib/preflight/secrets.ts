import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { SecretSpec, Target } from '../config/schema.js';
import { at, type Finding } from './finding.js';
import { checkSecretValue } from './value-checks.js';

/**
 * Reads each secret the target names and checks it the way the app will use it. Values stay inside
 * `inspectOne`: they are handed to the pure checks and dropped; nothing returned, thrown or logged
 * here is built from one. What leaves is findings, the env var names checked, and ARNs (EB injects
 * secrets by ARN through `aws:elasticbeanstalk:application:environmentsecrets`).
 */
export async function inspectSecrets(
  client: SecretsManagerClient,
  target: Target,
): Promise<{ findings: Finding[]; arns: Record<string, string>; checked: string[] }> {
  const findings: Finding[] = [];
  const arns: Record<string, string> = {};
  const checked: string[] = [];
  // Several env vars may share one secret (REDIS_URL and CELERY_BROKER_URL): read it once.
  const bySecret = new Map<string, [string, SecretSpec][]>();
  for (const [envVar, spec] of Object.entries(target.secrets)) {
    bySecret.set(spec.secretId, [...(bySecret.get(spec.secretId) ?? []), [envVar, spec]]);
  }
  for (const [secretId, uses] of bySecret) {
    const result = await inspectOne(client, secretId, uses, target);
    findings.push(...result.findings);
    for (const [envVar] of uses) {
      checked.push(envVar);
      if (result.arn !== undefined) arns[envVar] = result.arn;
    }
  }
  return { findings, arns, checked };
}

async function inspectOne(
  client: SecretsManagerClient,
  secretId: string,
  uses: [string, SecretSpec][],
  target: Target,
): Promise<{ findings: Finding[]; arn?: string }> {
  const names = uses.map(([envVar]) => envVar).join(', ');
  const label = `secret "${secretId}" (${names})`;

  let described: DescribeSecretCommandOutput;
  try {
    described = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
  } catch (err) {
    return { findings: [fromAwsError(err, label, 'DescribeSecret')] };
  }
  const arn = described.ARN ?? secretId;
  if (described.DeletedDate !== undefined) {
    return {
      arn,
      findings: [
        at({
          ruleId: 'secret-scheduled-for-deletion',
          severity: 'error',
          message: `${label} is scheduled for deletion (on ${described.DeletedDate.toISOString().slice(0, 10)}); instances started after that cannot read it`,
          fix: `Restore it: aws secretsmanager restore-secret --secret-id ${secretId}`,
        }),
      ],
    };
  }

  let value: string | undefined;
  let binary = false;
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    value = out.SecretString;
    binary = out.SecretBinary !== undefined && out.SecretBinary.length > 0;
  } catch (err) {
    return { arn, findings: [fromAwsError(err, label, 'GetSecretValue')] };
  }

  if (value === undefined) {
    if (binary) {
      return {
        arn,
        findings: [
          at({
            ruleId: 'secret-binary',
            severity: 'error',
            message: `${label} holds a binary value; EB injects secrets into environment variables as text`,
            fix: 'Store the value as a SecretString.',
          }),
        ],
      };
    }
  }
  const text = value ?? '';
  const findings = uses.flatMap(([envVar, spec]) =>
    checkSecretValue(text, spec, `${envVar} (secret "${secretId}")`, target).map((p) => at(p)),
  );
  // The same secret read for two env vars with the same spec gives the same problem twice.
  return { arn, findings: dedupe(findings) };
}

function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.ruleId}\u0000${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

interface AwsError {
  name?: string;
  message?: string;
  $retryable?: unknown;
  $fault?: string;
}

/**
 * Turns a Secrets Manager error into a finding. Throttling and AWS-side faults are rethrown so the
 * state machine's Retry handles them; everything else is a problem the user must fix.
 */
function fromAwsError(err: unknown, label: string, operation: 'DescribeSecret' | 'GetSecretValue'): Finding {
  const e: AwsError = typeof err === 'object' && err !== null ? (err as AwsError) : {};
  const name = e.name ?? 'Error';
  if (e.$retryable || e.$fault === 'server' || /Throttl|TooManyRequests|InternalServiceError/.test(name)) {
    throw err;
  }
  // Without kms:Decrypt on a customer managed key, GetSecretValue fails with AccessDeniedException
  // mentioning KMS, or DecryptionFailure.
  const kms =
    name === 'DecryptionFailure' || (name === 'AccessDeniedException' && /kms/i.test(e.message ?? ''));
  if (kms) {
    return at({
      ruleId: 'secret-access-denied',
      severity: 'error',
      message: `${label} cannot be decrypted: the caller lacks kms:Decrypt on the secret's KMS key`,
      fix: "Allow kms:Decrypt on the secret's key for the ebship ValidateSecrets role and the EB instance profile (key policy or IAM, with kms:ViaService secretsmanager).",
    });
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied') {
    const permission = `secretsmanager:${operation}`;
    return at({
      ruleId: 'secret-access-denied',
      severity: 'error',
      message: `${label} is not readable: the caller lacks ${permission}`,
      fix: `Allow ${permission} on this secret's ARN for the ebship ValidateSecrets role (and secretsmanager:GetSecretValue for the EB instance profile, which reads it at instance start).`,
    });
  }
  if (name === 'ResourceNotFoundException') {
    return at(
      operation === 'DescribeSecret'
        ? {
            ruleId: 'secret-not-found',
            severity: 'error',
            message: `${label} does not exist in this account and region`,
            fix: 'Create it (aws secretsmanager create-secret) or correct secretId in ebship.yml; a name must match exactly, an ARN must include its 6-character suffix.',
          }
        : {
            // The secret exists but has no AWSCURRENT version: created without a value.
            ruleId: 'secret-empty',
            severity: 'error',
            message: `${label} has no current value`,
            fix: 'Put a value: aws secretsmanager put-secret-value --secret-id <id> --secret-string ...',
          },
    );
  }
  if (name === 'InvalidRequestException') {
    return at({
      ruleId: 'secret-scheduled-for-deletion',
      severity: 'error',
      message: `${label} cannot be read (${operation} refused the request: the secret is marked for deletion or disabled)`,
      fix: 'Restore it with aws secretsmanager restore-secret, or point ebship.yml at a live secret.',
    });
  }
  return at({
    ruleId: 'secret-unreadable',
    severity: 'error',
    message: `${label} could not be read: ${operation} failed with ${name}`,
    fix: 'Check the secret in the Secrets Manager console, then run the deploy again.',
  });
}
