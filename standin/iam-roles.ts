import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { EbshipConfig } from '../lib/config/schema.js';
import type { PolicyDocument } from './services/iam.js';
import type { World } from './world.js';

/**
 * The stand-in's IAM, as a deploy of ebship would leave it: every role of infra/iam.yml with its
 * policies, resolved the way Serverless and CloudFormation resolve them (custom.ebship from
 * infra/config-vars.cjs, `${sls:stage}`, `!Sub`, `!GetAtt`, `!Ref`), and the environment's instance
 * profile with the roles EB's default instance profile needs (EB developer guide, "Managing
 * Elastic Beanstalk instance profiles") plus what ebship adds: its secrets, their key, ECR pulls.
 */

export const IAM_FILE = fileURLToPath(new URL('../infra/iam.yml', import.meta.url));
export const INSTANCE_PROFILE = 'aws-elasticbeanstalk-ec2-role';
/** The customer managed key the stand-in's secrets are encrypted with. */
export const SECRETS_KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';

const { configVars } = createRequire(import.meta.url)('../infra/config-vars.cjs') as {
  configVars: (text: string, file?: string, root?: string) => Record<string, unknown>;
};

// CloudFormation's short forms, kept as the long forms CloudFormation reads.
const customTags = [
  { tag: '!Sub', resolve: (value: string) => ({ 'Fn::Sub': value }) },
  { tag: '!GetAtt', resolve: (value: string) => ({ 'Fn::GetAtt': value }) },
  { tag: '!Ref', resolve: (value: string) => ({ Ref: value }) },
];

interface RoleResource {
  Type: string;
  Properties: {
    RoleName?: string;
    AssumeRolePolicyDocument?: PolicyDocument;
    Policies?: { PolicyName: string; PolicyDocument: PolicyDocument }[];
  };
}

export function provisionIam(
  world: World,
  config: EbshipConfig,
  configPath: string,
  stage: string,
  file = IAM_FILE,
): void {
  const { region, account } = world;
  const stack = `ebship-${stage}`;
  const table = `arn:aws:dynamodb:${region}:${account}:table/ebship-${stage}`;
  const refs: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': region,
    'AWS::AccountId': account,
    'AWS::StackName': stack,
    'BundleBucket.Arn': `arn:aws:s3:::ebship-${stage}-bundles`,
    'DeployTable.Arn': table,
    AlertTopic: `arn:aws:sns:${region}:${account}:ebship-${stage}-alerts`,
    'AlertTopicKey.Arn': `arn:aws:kms:${region}:${account}:key/ebship-${stage}-alerts`,
    DeployStateMachine: `arn:aws:states:${region}:${account}:stateMachine:ebship-${stage}-deploy`,
  };
  const vars = configVars(readFileSync(configPath, 'utf8'), configPath, dirname(configPath));
  const serverless = (text: string): unknown => {
    const whole = /^\$\{self:custom\.ebship\.(\w+)\}$/.exec(text);
    if (whole) return vars[whole[1] ?? ''];
    return text.replace(/\$\{self:service\}/g, 'ebship').replace(/\$\{sls:stage\}/g, stage);
  };
  const sub = (text: string) => text.replace(/\$\{([\w:.]+)\}/g, (m, name: string) => refs[name] ?? m);
  const resolve = (node: unknown): unknown => {
    if (typeof node === 'string') {
      const value = serverless(node);
      return typeof value === 'string' ? value : resolve(value);
    }
    if (Array.isArray(node)) return node.flatMap((n) => resolve(n));
    if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (typeof o['Fn::Sub'] === 'string') return sub(String(resolve(o['Fn::Sub'])));
      if (typeof o['Fn::GetAtt'] === 'string') {
        const att = o['Fn::GetAtt'];
        const logGroup = /^(\w+)LogGroup\.Arn$/.exec(att);
        if (logGroup)
          return `arn:aws:logs:${region}:${account}:log-group:/aws/lambda/${stack}-${logGroup[1]}:*`;
        return refs[att] ?? att;
      }
      if (typeof o.Ref === 'string') return refs[o.Ref] ?? o.Ref;
      return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolve(v)]));
    }
    return node;
  };

  if (existsSync(file)) {
    const doc = parse(readFileSync(file, 'utf8'), { customTags, logLevel: 'silent' }) as {
      Resources: Record<string, RoleResource>;
    };
    for (const [logicalId, r] of Object.entries(doc.Resources)) {
      if (r.Type !== 'AWS::IAM::Role') continue;
      const name = r.Properties.RoleName
        ? String(resolve(r.Properties.RoleName))
        : `${stack}-${logicalId}-STANDIN`;
      world.iam.putRole(name, resolve(r.Properties.AssumeRolePolicyDocument) as PolicyDocument);
      for (const p of r.Properties.Policies ?? []) {
        world.iam.putRolePolicy(name, p.PolicyName, resolve(p.PolicyDocument) as PolicyDocument);
      }
    }
  }

  // The instance profile: the managed policies for SSM's agent and ECR pulls, and ebship's own
  // statements for the targets' secrets and their key.
  const secretArns = Object.values(config.targets).flatMap((t) =>
    Object.values(t.secrets).map(
      (s) => `arn:aws:secretsmanager:${region}:${account}:secret:${s.secretId}-??????`,
    ),
  );
  world.iam.putRole(INSTANCE_PROFILE, {
    Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole' }],
  });
  for (const name of ['AmazonSSMManagedInstanceCore', 'AmazonEC2ContainerRegistryReadOnly']) {
    world.iam.attachManagedPolicy(INSTANCE_PROFILE, name);
  }
  world.iam.putRolePolicy(INSTANCE_PROFILE, 'ebship-secrets', {
    Statement: [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secretArns }],
  });
  world.iam.putRolePolicy(INSTANCE_PROFILE, 'ebship-secrets-kms', {
    Statement: [
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: `arn:aws:kms:${region}:${account}:key/${SECRETS_KEY_ID}`,
        Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` } },
      },
    ],
  });
  world.iam.putInstanceProfile(INSTANCE_PROFILE, [INSTANCE_PROFILE]);

  // The targets' secrets are under the customer managed key; each environment has ebship's
  // operations role associated (README "Deploy to AWS").
  for (const secret of world.secrets.secrets.values()) {
    secret.kmsKeyId = `arn:aws:kms:${region}:${account}:key/${SECRETS_KEY_ID}`;
  }
  for (const target of Object.values(config.targets)) {
    const env = world.eb.environments.get(target.environment);
    if (env) env.operationsRole = `arn:aws:iam::${account}:role/ebship-${stage}-eb-operations`;
  }
}
