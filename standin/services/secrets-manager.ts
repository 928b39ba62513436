import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { type JsonObject, pageOf, ServiceError, str } from '../protocol.js';

/** Secrets Manager (JSON 1.1, `secretsmanager.*`): secrets as ebship validates them, never logged. */

export interface SecretSpec {
  name: string;
  /** Absent: the secret exists but has no value yet (a newly created, never-set secret). */
  value?: string;
  /** Set: scheduled for deletion at this time (DescribeSecret shows DeletedDate). */
  deletedAt?: Date;
  /** The caller's role may not read it (AccessDeniedException). */
  accessDenied?: boolean;
  /** A customer managed key; absent for the AWS managed key aws/secretsmanager. */
  kmsKeyId?: string;
}

interface Secret extends SecretSpec {
  arn: string;
  createdAt: Date;
  versionId: string;
}

export class SecretsManager {
  readonly secrets = new Map<string, Secret>();

  constructor(
    private readonly clock: Clock,
    private readonly region = 'us-east-1',
    private readonly account = '123456789012',
  ) {}

  put(spec: SecretSpec): string {
    const existing = this.secrets.get(spec.name);
    // Secrets Manager appends a dash and six random characters to the name in the ARN.
    const arn =
      existing?.arn ??
      `arn:aws:secretsmanager:${this.region}:${this.account}:secret:${spec.name}-${suffix()}`;
    this.secrets.set(spec.name, {
      ...spec,
      arn,
      createdAt: existing?.createdAt ?? new Date(this.clock.now()),
      versionId: randomUUID(),
    });
    return arn;
  }

  arnOf(name: string): string | undefined {
    return this.secrets.get(name)?.arn;
  }

  handle(operation: string, input: JsonObject): unknown {
    switch (operation) {
      case 'DescribeSecret':
        return this.describe(this.find(input));
      case 'GetSecretValue':
        return this.getValue(input);
      case 'ListSecrets': {
        const include = input.IncludePlannedDeletion === true;
        const all = [...this.secrets.values()].filter((s) => include || !s.deletedAt);
        const { page, next } = pageOf(
          all,
          str(input, 'NextToken'),
          typeof input.MaxResults === 'number' ? input.MaxResults : 100,
        );
        return { SecretList: page.map((s) => this.describe(s)), NextToken: next };
      }
      default:
        throw new ServiceError('UnknownOperationException', `Unknown operation ${operation}`);
    }
  }

  private find(input: JsonObject): Secret {
    const id = str(input, 'SecretId') ?? '';
    const secret = [...this.secrets.values()].find(
      // A partial ARN (without the random suffix) also names the secret.
      (s) => s.name === id || s.arn === id || s.arn.replace(/-[A-Za-z0-9]{6}$/, '') === id,
    );
    if (!secret)
      throw new ServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  }

  private describe(s: Secret): JsonObject {
    return {
      ARN: s.arn,
      Name: s.name,
      CreatedDate: s.createdAt,
      LastChangedDate: s.createdAt,
      DeletedDate: s.deletedAt,
      // Omitted for the AWS managed key (API reference, DescribeSecret KmsKeyId).
      KmsKeyId: s.kmsKeyId,
      VersionIdsToStages: s.value === undefined ? undefined : { [s.versionId]: ['AWSCURRENT'] },
    };
  }

  private getValue(input: JsonObject): unknown {
    const s = this.find(input);
    if (s.accessDenied) {
      throw new ServiceError(
        'AccessDeniedException',
        `User: arn:aws:sts::${this.account}:assumed-role/ebship-lambda/ValidateSecrets is not authorized to perform: secretsmanager:GetSecretValue on resource: ${s.name} because no identity-based policy allows the secretsmanager:GetSecretValue action`,
      );
    }
    if (s.deletedAt) {
      throw new ServiceError(
        'InvalidRequestException',
        "You can't perform this operation on the secret because it was marked for deletion.",
      );
    }
    if (s.value === undefined) {
      throw new ServiceError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
      );
    }
    return {
      ARN: s.arn,
      Name: s.name,
      VersionId: s.versionId,
      SecretString: s.value,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: s.createdAt,
    };
  }
}

function suffix(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length: 6 }, () => chars[Math.floor(Math.random() * chars.length)]).join('');
}
