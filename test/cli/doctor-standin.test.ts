import { AttachRolePolicyCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../cli/exit-codes.js';
import { loadConfig } from '../../lib/config/load.js';
import { createClock, installClock } from '../../standin/clock.js';
import { INSTANCE_PROFILE, provisionIam } from '../../standin/iam-roles.js';
import { provision, stageNames } from '../../standin/provision.js';
import { loadScenario } from '../../standin/scenarios.js';
import { type Standin, startStandin } from '../../standin/server.js';
import type { PolicyDocument } from '../../standin/services/iam.js';
import { cli, SEED_CONFIG } from './harness.js';

/**
 * `ebship doctor` end to end: the CLI's real SDK clients (EB, SSM, IAM, Secrets Manager) reach the
 * stand-in through AWS_ENDPOINT_URL, provisioned as `npm run standin` provisions it (every target,
 * the stack's roles from infra/iam.yml, the instance profile). Then the account is broken the ways
 * doctor exists to catch, and each failure must name its fix.
 */
const config = loadConfig(SEED_CONFIG);
const STAGE = 'local';
let standin: Standin;
let uninstallClock: () => void;
const saved = { ...process.env };
const run = (argv: string[]) => cli([...argv, '--stage', STAGE], { env: { EBSHIP_CONFIG: SEED_CONFIG } });

beforeAll(async () => {
  const clock = createClock(60);
  uninstallClock = installClock(clock);
  standin = await startStandin({ clock });
  const scenario = loadScenario('healthy');
  for (const target of Object.keys(config.targets)) {
    await provision(standin.world, standin.endpoint, config, { ...scenario, target }, stageNames(STAGE));
  }
  provisionIam(standin.world, config, SEED_CONFIG, STAGE);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: standin.endpoint,
    AWS_ACCESS_KEY_ID: 'AKIDSTANDIN',
    AWS_SECRET_ACCESS_KEY: 'standin-not-a-secret',
    AWS_REGION: standin.world.region,
  });
  delete process.env.AWS_PROFILE;
});

afterAll(async () => {
  process.env = saved;
  await standin?.close();
  uninstallClock?.();
});

describe('ebship doctor against the stand-in', () => {
  it('passes an account set up as the README says, with read-only calls only', async () => {
    const r = await run(['doctor']);

    expect(r.stderr).toBe('');
    expect(r.code).toBe(ExitCode.Ok);
    for (const id of [
      'enhanced-health',
      'operations-role',
      'platform-environmentsecrets',
      'ssm-managed',
      'instance-secrets',
      'instance-kms',
      'instance-ecr',
      'deploy-roles',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`ok {3}${id}: `));
    }
    expect(r.stdout).toMatch(/ok {3}deploy-roles: the \d+ ebship roles may make every call a deploy makes/);
    // Every call doctor made is a Describe/Get/List or the simulator: nothing changed.
    const calls = [
      ...standin.world.eb.calls.map((c) => c.action),
      ...standin.world.iam.calls.map((c) => c.action),
    ];
    expect(calls.filter((a) => !/^(Describe|Get|List|Simulate)/.test(a))).toEqual([]);
    expect(standin.world.iam.calls.some((c) => c.action === 'SimulatePrincipalPolicy')).toBe(true);
  });

  it('names the fix for each thing wrong: no KMS decrypt, an unmanaged instance, a stale stack, no operations role', async () => {
    const { world } = standin;
    const kms = world.iam.rolePolicy(INSTANCE_PROFILE, 'ebship-secrets-kms') as PolicyDocument;
    const deployRole = `ebship-${STAGE}-deploy-version`;
    const deploy = world.iam.rolePolicy(deployRole, 'deploy-version') as PolicyDocument;
    const secretsRole = `ebship-${STAGE}-validate-secrets`;
    const validate = world.iam.rolePolicy(secretsRole, 'validate-secrets') as PolicyDocument;
    const env = world.eb.environments.get('antenna-prod');
    const operationsRole = env?.operationsRole;
    const [instance] = world.eb.instanceIds('antenna-prod');
    // The instance role lost its KMS grant, the agent never registered, the deployed stack predates
    // UpdateEnvironment on this environment, and nobody associated the operations role.
    world.iam.putRolePolicy(INSTANCE_PROFILE, 'ebship-secrets-kms', undefined);
    world.ssm.inventory?.unmanaged.add(instance ?? '');
    world.iam.putRolePolicy(deployRole, 'deploy-version', {
      Statement: (Array.isArray(deploy.Statement) ? deploy.Statement : [deploy.Statement]).map((s) => ({
        ...s,
        Action: [s.Action ?? []].flat().filter((a) => a !== 'elasticbeanstalk:UpdateEnvironment'),
      })),
    });
    // ValidateSecrets lost the Decrypt that GetSecretValue of a customer-key secret needs.
    world.iam.putRolePolicy(secretsRole, 'validate-secrets', {
      Statement: [validate.Statement].flat().filter((s) => s.Action !== 'kms:Decrypt'),
    });
    if (env) env.operationsRole = undefined;
    try {
      const r = await run(['doctor', 'antenna-prod']);

      expect(r.code).toBe(ExitCode.Findings);
      expect(r.stdout).toMatch(
        /FAIL instance-kms: instance role aws-elasticbeanstalk-ec2-role may not kms:Decrypt arn:aws:kms:us-east-1:123456789012:key\/\S+, the key of antenna\/prod\/\S+/,
      );
      expect(r.stdout).toContain(
        `fix: aws iam put-role-policy --role-name ${INSTANCE_PROFILE} --policy-name ebship-secrets-kms --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt"`,
      );
      expect(r.stdout).toMatch(
        new RegExp(`FAIL ssm-managed: instance\\(s\\) ${instance} are not SSM-managed`),
      );
      expect(r.stdout).toMatch(
        /FAIL deploy-roles: .*ebship-local-deploy-version may not elasticbeanstalk:UpdateEnvironment on arn:aws:elasticbeanstalk:us-east-1:123456789012:environment\/antenna\/antenna-prod/,
      );
      expect(r.stdout).toMatch(
        /ebship-local-validate-secrets may not kms:Decrypt on arn:aws:kms:us-east-1:123456789012:key\//,
      );
      expect(r.stdout).toContain('fix: npx serverless deploy --stage local --region us-east-1');
      expect(r.stdout).toContain(
        'fix: aws elasticbeanstalk associate-environment-operations-role --environment-name antenna-prod --operations-role arn:aws:iam::123456789012:role/ebship-local-eb-operations',
      );
      // What is still right stays ok.
      expect(r.stdout).toMatch(/ok {3}instance-secrets/);
      expect(r.stdout).toMatch(/ok {3}instance-ecr/);
    } finally {
      world.iam.putRolePolicy(INSTANCE_PROFILE, 'ebship-secrets-kms', kms);
      world.iam.putRolePolicy(deployRole, 'deploy-version', deploy);
      world.iam.putRolePolicy(secretsRole, 'validate-secrets', validate);
      world.ssm.inventory?.unmanaged.clear();
      if (env) env.operationsRole = operationsRole;
    }
  });

  it('turns ok once the fixes it prints for the instance role are run (KMS, ECR pulls, SSM agent)', async () => {
    const { world } = standin;
    world.iam.putRolePolicy(INSTANCE_PROFILE, 'ebship-secrets-kms', undefined);
    world.iam.putRolePolicy(
      INSTANCE_PROFILE,
      'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly',
      undefined,
    );
    world.iam.putRolePolicy(
      INSTANCE_PROFILE,
      'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore',
      undefined,
    );
    const broken = await run(['doctor', 'antenna-prod']);
    const fixes = [...broken.stdout.matchAll(/fix: (aws iam .*)$/gm)].map((m) => m[1] ?? '');

    // Each printed fix, sent as the aws CLI would send it.
    const iam = new IAMClient({ endpoint: standin.endpoint, region: 'us-east-1' });
    for (const fix of fixes) {
      const arg = (name: string) =>
        new RegExp(`--${name} (?:'([^']*)'|(\\S+))`).exec(fix)?.slice(1).find(Boolean) ?? '';
      if (fix.startsWith('aws iam put-role-policy')) {
        await iam.send(
          new PutRolePolicyCommand({
            RoleName: arg('role-name'),
            PolicyName: arg('policy-name'),
            PolicyDocument: arg('policy-document'),
          }),
        );
      } else if (fix.startsWith('aws iam attach-role-policy')) {
        await iam.send(
          new AttachRolePolicyCommand({ RoleName: arg('role-name'), PolicyArn: arg('policy-arn') }),
        );
      }
    }
    const fixed = await run(['doctor', 'antenna-prod']);

    expect(broken.code).toBe(ExitCode.Findings);
    expect(broken.stdout).toMatch(/FAIL ssm-managed: /);
    expect(fixes).toHaveLength(3);
    expect(fixed.stdout).toMatch(/ok {3}ssm-managed/);
    expect(fixed.stdout).toMatch(/ok {3}instance-kms/);
    expect(fixed.stdout).toMatch(/ok {3}instance-ecr/);
    expect(fixed.code).toBe(ExitCode.Ok);
  });
});
