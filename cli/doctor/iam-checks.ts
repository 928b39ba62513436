import {
  DescribeConfigurationSettingsCommand,
  type ElasticBeanstalkClient,
  type EnvironmentDescription,
} from '@aws-sdk/client-elastic-beanstalk';
import {
  GetInstanceProfileCommand,
  type IAMClient,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import { DescribeSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Target } from '../../lib/config/schema.js';
import type { Check } from './checks.js';
import { callsOf, type DeployFunction, deployFunctions, onBehalfOf, roleNameOf } from './deploy-calls.js';
import { onBehalfSimulations, type Simulation, simulationFor, type TargetArns } from './deploy-resources.js';

/**
 * The IAM half of `ebship doctor`, all through IAM's policy simulator (SimulatePrincipalPolicy,
 * read-only): can the environment's instances read the target's secrets and pull its image, and can
 * each ebship role make every call a deploy makes, on this target's own ARNs.
 */

export interface IamClients {
  eb: ElasticBeanstalkClient;
  iam: IAMClient;
  secrets: SecretsManagerClient;
}

export interface IamScope {
  name: string;
  target: Target;
  stage: string;
  region: string;
  env: EnvironmentDescription;
  instanceIds: string[];
  /** The Lambdas of serverless.yml (default: this checkout's). */
  functions?: DeployFunction[];
  /** A handler's calls (default: read from this checkout's code). */
  callsOf?: (handler: string) => Set<string>;
  /** The instance profile's role, if already looked up. */
  instanceRole?: InstanceRole;
}

type Decision = { action: string; resource: string; decision: string };

export async function iamChecks(clients: IamClients, scope: IamScope): Promise<Check[]> {
  const arn = /^arn:([^:]+):elasticbeanstalk:[^:]*:(\d{12}):/.exec(scope.env.EnvironmentArn ?? '');
  const partition = arn?.[1] ?? 'aws';
  const account = arn?.[2] ?? '';
  const secrets = await describeSecrets(clients.secrets, scope.target);
  const checks: Check[] = [...secrets.checks];
  checks.push(...(await instanceProfileChecks(clients, scope, partition, account, secrets.found)));
  checks.push(
    await deployRolesCheck(clients.iam, scope, {
      partition,
      region: scope.region,
      account,
      stage: scope.stage,
      name: scope.name,
      target: scope.target,
      secrets: secrets.found.map((s) => ({ arn: s.arn, keyArn: s.keyArn })),
      instanceIds: scope.instanceIds,
    }),
  );
  return checks;
}

interface FoundSecret {
  id: string;
  arn: string;
  /** A customer managed key's ARN; undefined for Secrets Manager's AWS managed key. */
  keyArn?: string;
  /** A key named by alias: IAM cannot simulate it without resolving it. */
  keyAlias?: string;
}

async function describeSecrets(
  client: SecretsManagerClient,
  target: Target,
): Promise<{ found: FoundSecret[]; checks: Check[] }> {
  const ids = [...new Set(Object.values(target.secrets).map((s) => s.secretId))];
  const found: FoundSecret[] = [];
  const missing: string[] = [];
  for (const id of ids) {
    try {
      const s = await client.send(new DescribeSecretCommand({ SecretId: id }));
      if (!s.ARN) continue;
      const key = s.KmsKeyId;
      const region = s.ARN.split(':')[3];
      const account = s.ARN.split(':')[4];
      const partition = s.ARN.split(':')[1];
      found.push({
        id,
        arn: s.ARN,
        // No KmsKeyId, or the alias aws/secretsmanager: the AWS managed key, whose key policy lets
        // any principal of the account decrypt through Secrets Manager (Secrets Manager user guide,
        // "Secret encryption and decryption").
        ...(key && !/(^|:)alias\/aws\/secretsmanager$/.test(key)
          ? key.includes(':alias/') || key.startsWith('alias/')
            ? { keyAlias: key }
            : {
                keyArn: key.startsWith('arn:') ? key : `arn:${partition}:kms:${region}:${account}:key/${key}`,
              }
          : {}),
      });
    } catch (err) {
      if ((err as Error).name === 'ResourceNotFoundException') missing.push(id);
      else throw err;
    }
  }
  const checks: Check[] = missing.map((id) => ({
    id: 'secret-exists',
    ok: false,
    message: `secret ${id} does not exist in this account and region, so no deploy can pass ValidateSecrets`,
    fix: `aws secretsmanager create-secret --name ${id} --secret-string '<value>'`,
  }));
  return { found, checks };
}

/** The environment's instance profile (its option setting) and the role in it, as far as found. */
export interface InstanceRole {
  profile?: string;
  role?: { name: string; arn: string };
}

export async function instanceRoleOf(
  clients: Pick<IamClients, 'eb' | 'iam'>,
  target: Target,
): Promise<InstanceRole> {
  const profile = await instanceProfileOf(clients.eb, target);
  if (!profile) return {};
  try {
    const { InstanceProfile } = await clients.iam.send(
      new GetInstanceProfileCommand({ InstanceProfileName: profile }),
    );
    const r = InstanceProfile?.Roles?.[0];
    return r?.RoleName && r.Arn ? { profile, role: { name: r.RoleName, arn: r.Arn } } : { profile };
  } catch (err) {
    if ((err as Error).name !== 'NoSuchEntityException') throw err;
    return { profile };
  }
}

async function instanceProfileChecks(
  clients: IamClients,
  scope: IamScope,
  partition: string,
  account: string,
  secrets: FoundSecret[],
): Promise<Check[]> {
  const { profile, role } = scope.instanceRole ?? (await instanceRoleOf(clients, scope.target));
  const envName = scope.target.environment;
  if (!profile) {
    return [
      {
        id: 'instance-profile',
        ok: false,
        message: `the environment names no instance profile (aws:autoscaling:launchconfiguration IamInstanceProfile), so its instances can read no secret and pull no image`,
        fix: `aws elasticbeanstalk update-environment --environment-name ${envName} --option-settings Namespace=aws:autoscaling:launchconfiguration,OptionName=IamInstanceProfile,Value=aws-elasticbeanstalk-ec2-role`,
      },
    ];
  }
  if (!role) {
    return [
      {
        id: 'instance-profile',
        ok: false,
        message: `instance profile ${profile} does not exist or holds no role`,
        fix: `aws iam add-role-to-instance-profile --instance-profile-name ${profile} --role-name aws-elasticbeanstalk-ec2-role`,
      },
    ];
  }
  const checks: Check[] = [];
  const policyFix = (policyName: string, statement: object) =>
    `aws iam put-role-policy --role-name ${role.name} --policy-name ${policyName} --policy-document '${JSON.stringify({ Version: '2012-10-17', Statement: [statement] })}'`;

  // EB fetches environmentsecrets on the instance with the instance profile (EB developer guide,
  // "Using Secrets Manager and Parameter Store with environment variables").
  if (secrets.length > 0) {
    const denied = notAllowed(
      await simulate(clients.iam, role.arn, ['secretsmanager:GetSecretValue'], {
        resources: secrets.map((s) => s.arn),
      }),
    );
    checks.push(
      denied.length === 0
        ? {
            id: 'instance-secrets',
            ok: true,
            message: `instance role ${role.name} may read the ${secrets.length} secret(s)`,
          }
        : {
            id: 'instance-secrets',
            ok: false,
            message: `instance role ${role.name} may not secretsmanager:GetSecretValue ${denied.map((d) => d.resource).join(', ')}: the environment cannot start with its secrets`,
            fix: policyFix('ebship-secrets', {
              Effect: 'Allow',
              Action: 'secretsmanager:GetSecretValue',
              Resource: denied.map((d) => d.resource),
            }),
          },
    );
    const viaService = `secretsmanager.${scope.region}.amazonaws.com`;
    for (const s of secrets.filter((x) => x.keyAlias)) {
      checks.push({
        id: 'instance-kms',
        ok: false,
        warning: true,
        message: `secret ${s.id} is encrypted with ${s.keyAlias}: ebship cannot simulate Decrypt on an alias`,
        fix: `aws kms describe-key --key-id ${s.keyAlias} --query KeyMetadata.Arn  # then check the instance role may kms:Decrypt it`,
      });
    }
    // One check per customer managed key. Secrets Manager decrypts with the caller's rights,
    // through KMS, with the secret's ARN in the encryption context (Secrets Manager user guide,
    // "Secret encryption and decryption"): each secret is simulated with its own context.
    const byKey = new Map<string, FoundSecret[]>();
    for (const s of secrets) if (s.keyArn) byKey.set(s.keyArn, [...(byKey.get(s.keyArn) ?? []), s]);
    for (const [keyArn, under] of byKey) {
      const refused: FoundSecret[] = [];
      for (const s of under) {
        const decisions = await simulate(clients.iam, role.arn, ['kms:Decrypt'], {
          resources: [keyArn],
          context: [
            { ContextKeyName: 'kms:ViaService', ContextKeyValues: [viaService], ContextKeyType: 'string' },
            {
              ContextKeyName: 'kms:EncryptionContext:SecretARN',
              ContextKeyValues: [s.arn],
              ContextKeyType: 'string',
            },
          ],
        });
        if (notAllowed(decisions).length > 0) refused.push(s);
      }
      checks.push(
        refused.length === 0
          ? {
              id: 'instance-kms',
              ok: true,
              message: `instance role ${role.name} may decrypt the ${under.length} secret(s) under ${keyArn}`,
            }
          : {
              id: 'instance-kms',
              ok: false,
              message: `instance role ${role.name} may not kms:Decrypt ${keyArn}, the key of ${refused.map((s) => s.id).join(', ')}: the environment cannot read them`,
              fix: policyFix('ebship-secrets-kms', {
                Effect: 'Allow',
                Action: 'kms:Decrypt',
                Resource: keyArn,
                Condition: { StringEquals: { 'kms:ViaService': viaService } },
              }),
            },
      );
    }
  }

  // The instance pulls the image itself (the release phase, issue 11): ECR's pull permissions.
  // https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-pull.html
  const repository = `arn:${partition}:ecr:${scope.region}:${account}:repository/${scope.target.source.repository}`;
  const pulls = [
    ...(await simulate(clients.iam, role.arn, ['ecr:GetAuthorizationToken'], { resources: ['*'] })),
    ...(await simulate(clients.iam, role.arn, ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], {
      resources: [repository],
    })),
  ];
  const deniedPulls = notAllowed(pulls);
  checks.push(
    deniedPulls.length === 0
      ? {
          id: 'instance-ecr',
          ok: true,
          message: `instance role ${role.name} may pull from ${scope.target.source.repository}`,
        }
      : {
          id: 'instance-ecr',
          ok: false,
          message: `instance role ${role.name} may not ${[...new Set(deniedPulls.map((d) => d.action))].join(', ')}: instances cannot pull ${scope.target.source.repository}`,
          fix: `aws iam attach-role-policy --role-name ${role.name} --policy-arn arn:${partition}:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly`,
        },
  );
  return checks;
}

async function instanceProfileOf(eb: ElasticBeanstalkClient, target: Target): Promise<string | undefined> {
  const { ConfigurationSettings = [] } = await eb.send(
    new DescribeConfigurationSettingsCommand({
      ApplicationName: target.application,
      EnvironmentName: target.environment,
    }),
  );
  const value = ConfigurationSettings[0]?.OptionSettings?.find(
    (o) => o.Namespace === 'aws:autoscaling:launchconfiguration' && o.OptionName === 'IamInstanceProfile',
  )?.Value;
  // The option takes a name or an ARN (arn:aws:iam::<account>:instance-profile/<path/>name).
  return value ? value.split('/').at(-1) : undefined;
}

/** Each ebship role, simulated on every call its function's code makes, on this target's ARNs. */
async function deployRolesCheck(iam: IAMClient, scope: IamScope, arns: TargetArns): Promise<Check> {
  const functions = scope.functions ?? deployFunctions();
  const read = scope.callsOf ?? callsOf;
  // The same key decrypts several secrets: one line per role, action and resource.
  const deniedLines = new Set<string>();
  const missingRoles: string[] = [];
  const notJudged = new Set<string>();
  const onStack = new Set<string>();
  let simulated = 0;
  for (const fn of functions) {
    const roleName = roleNameOf(fn, scope.stage);
    const roleArn = `arn:${arns.partition}:iam::${arns.account}:role/${roleName}`;
    // Calls that land on the same resources are simulated together.
    const groups = new Map<string, { actions: string[]; simulation: Simulation }>();
    const add = (action: string, simulation: Simulation) => {
      const key = JSON.stringify(simulation);
      const group = groups.get(key) ?? { actions: [], simulation };
      group.actions.push(action);
      groups.set(key, group);
    };
    for (const action of [...read(fn.handler)].sort()) {
      const simulation = simulationFor(action, arns, fn.key);
      if (simulation === 'unused') continue;
      if (!simulation) notJudged.add(action);
      else add(action, simulation);
    }
    // What AWS checks on the caller while serving those calls (the template test's ON_BEHALF).
    const pascal = fn.key.charAt(0).toUpperCase() + fn.key.slice(1);
    for (const action of onBehalfOf(fn)) {
      const simulations = onBehalfSimulations(pascal, action, arns);
      if (simulations === 'unused') continue;
      if (simulations === 'stack') onStack.add(roleName);
      else if (!simulations) notJudged.add(action);
      else for (const simulation of simulations) add(action, simulation);
    }
    try {
      for (const { actions, simulation } of groups.values()) {
        const decisions = await simulate(iam, roleArn, actions, simulation);
        simulated += actions.length;
        for (const d of notAllowed(decisions))
          deniedLines.add(`${roleName} may not ${d.action} on ${d.resource}`);
      }
    } catch (err) {
      if ((err as Error).name !== 'NoSuchEntityException') throw err;
      missingRoles.push(roleName);
    }
  }
  const denied = [...deniedLines];
  const deploy = `npx serverless deploy --stage ${scope.stage} --region ${scope.region}`;
  if (missingRoles.length > 0) {
    return {
      id: 'deploy-roles',
      ok: false,
      message: `role(s) ${missingRoles.join(', ')} do not exist: ebship's stack "${scope.stage}" is not deployed in this account, or is older than this checkout`,
      fix: `${deploy}  # from the ebship checkout`,
    };
  }
  if (denied.length > 0) {
    return {
      id: 'deploy-roles',
      ok: false,
      message: `a deploy of this target would be refused: ${denied.slice(0, 8).join('; ')}${denied.length > 8 ? `; and ${denied.length - 8} more` : ''}. The roles are generated from ebship.yml at package time: the deployed stack does not include this target as it is now`,
      fix: `${deploy}  # from the ebship checkout, after editing ebship.yml`,
    };
  }
  if (notJudged.size > 0) {
    return {
      id: 'deploy-roles',
      ok: false,
      warning: true,
      message: `the ebship roles may make the ${simulated} calls simulated; not judged (ebship does not know which resource they act on): ${[...notJudged].join(', ')}`,
      fix: `aws iam simulate-principal-policy --policy-source-arn <role ARN> --action-names ${[...notJudged].join(' ')}`,
    };
  }
  return {
    id: 'deploy-roles',
    ok: true,
    message: `the ${functions.length} ebship roles may make every call a deploy makes (${simulated} simulated) on this target's resources${onStack.size > 0 ? `; the alert key grants of ${[...onStack].join(', ')} are on the stack's own key, not simulated` : ''}`,
  };
}

async function simulate(
  iam: IAMClient,
  roleArn: string,
  actions: string[],
  simulation: Simulation,
): Promise<Decision[]> {
  const out: Decision[] = [];
  let marker: string | undefined;
  do {
    const page = await iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: roleArn,
        ActionNames: actions,
        ResourceArns: simulation.resources,
        ContextEntries: simulation.context,
        Marker: marker,
      }),
    );
    for (const r of page.EvaluationResults ?? []) {
      const action = r.EvalActionName ?? '';
      // IAM returns one result per action; ResourceSpecificResults has each resource's decision
      // (IAM API reference, EvaluationResult).
      if (r.ResourceSpecificResults && r.ResourceSpecificResults.length > 0) {
        for (const rr of r.ResourceSpecificResults) {
          out.push({ action, resource: rr.EvalResourceName ?? '*', decision: rr.EvalResourceDecision ?? '' });
        }
      } else {
        out.push({ action, resource: r.EvalResourceName ?? '*', decision: r.EvalDecision ?? '' });
      }
    }
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return out;
}

function notAllowed(decisions: Decision[]): Decision[] {
  return decisions.filter((d) => d.decision !== 'allowed');
}
