import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { deployFunctions, roleNameOf } from '../../cli/doctor/deploy-calls.js';
import { packageService } from '../support/package-service.js';
import { callsOf, ON_BEHALF } from './sdk-calls.js';

/**
 * Packages the service exactly as a deploy would (`serverless package`, offline) and checks the
 * CloudFormation it would send: the workflow is wired to the 13 functions, the ECR rule fires on the
 * configured repositories only, and no role can do more than its function needs.
 */

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');
// The service to package; the repository itself unless pointed at a copy.
const SERVICE_DIR = process.env.EBSHIP_SERVICE_DIR ?? REPO;
const STAGE = 'test';
const documentArn = (target: string) =>
  `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:document/\${AWS::StackName}-migration-check-${target}`;

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
}
interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Condition?: Json;
}

/** The 14 Task functions (docs/architecture.md). */
const FUNCTION_NAMES = [
  'ResolveRelease',
  'AcquireLock',
  'ValidateSecrets',
  'BuildBundle',
  'CreateAppVersion',
  'DeployVersion',
  'CheckHealth',
  // The event-driven health watch's wait (lambda:invoke.waitForTaskToken).
  'RegisterWatch',
  // Manual approval of a promotion's wait (lambda:invoke.waitForTaskToken, issue 14).
  'RequestApproval',
  'AbortUpdate',
  'StartMigrationCheck',
  'CheckMigration',
  'StartRelease',
  'CheckRelease',
  'StartChecks',
  'CheckChecks',
  'RollBack',
  'RecordOutcome',
  'Notify',
  'LogTail',
] as const;
const FUNCTIONS: Record<string, string[]> = Object.fromEntries(FUNCTION_NAMES.map((n) => [n, []]));

const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];

/**
 * Actions IAM accepts only on "*" (no resource type in the Service Authorization Reference), read
 * from the table in docs/iam.md ("Grants on `*`"): a `*` grant is allowed only if that table lists
 * it, with a link to the AWS page that says so.
 */
const IAM_DOC = readFileSync(join(REPO, 'docs/iam.md'), 'utf8');
const STAR_ROWS = (() => {
  const section = IAM_DOC.split(/^### Grants on `\*`.*$/m)[1]?.split(/^#{2,3} /m)[0] ?? '';
  const links = new Map(
    [...IAM_DOC.matchAll(/^\[([\w-]+)\]: (\S+)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']),
  );
  return section
    .split('\n')
    .filter((line) => /^\| `[a-z0-9-]+:/.test(line))
    .map((line) => {
      const cells = line.split('|').map((c) => c.trim());
      const ref = /\]\[([\w-]+)\]/.exec(cells.at(-2) ?? '')?.[1] ?? '';
      return {
        actions: [...(cells[1] ?? '').matchAll(/`([a-z0-9-]+:[A-Za-z0-9*]+)`/g)].map((m) => m[1] ?? ''),
        why: cells[3] ?? '',
        source: links.get(ref) ?? '',
      };
    });
})();
const STAR_ONLY_ACTIONS = new Set(STAR_ROWS.flatMap((r) => r.actions));

const kebab = (name: string) =>
  name.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? '' : '-') + c.toLowerCase());
const lowerFirst = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);
const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
const first = <T>(items: T[], what: string): T => {
  const [item] = items;
  if (item === undefined) throw new Error(`the template has no ${what}`);
  return item;
};
const getAtt = (logicalId: string, attr = 'Arn') => ({ 'Fn::GetAtt': [logicalId, attr] });

let outDir: string;
let template: { Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown }> };
let config: { targets: Record<string, Json> };

const resource = (logicalId: string): Resource => {
  const r = template.Resources[logicalId];
  if (!r) throw new Error(`the template has no resource ${logicalId}`);
  return r;
};
const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

/** Every statement of every identity policy (inline on roles, and managed), with where it came from. */
function identityStatements(): { where: string; statement: Statement }[] {
  const out: { where: string; statement: Statement }[] = [];
  for (const [id, r] of Object.entries(template.Resources)) {
    const docs: Json[] = [];
    if (r.Type === 'AWS::IAM::Role') {
      for (const p of (r.Properties.Policies as { PolicyDocument: Json }[] | undefined) ?? [])
        docs.push(p.PolicyDocument);
    }
    if (r.Type === 'AWS::IAM::ManagedPolicy' || r.Type === 'AWS::IAM::Policy') {
      docs.push(r.Properties.PolicyDocument as Json);
    }
    for (const doc of docs) {
      for (const statement of asArray(doc.Statement as Statement | Statement[]))
        out.push({ where: id, statement });
    }
  }
  return out;
}

/** The actions a role may perform: its inline policies plus the managed policies in this template. */
function roleActions(roleId: string): Set<string> {
  const role = resource(roleId);
  const managed = ((role.Properties.ManagedPolicyArns as { Ref: string }[] | undefined) ?? []).map(
    (m) => m.Ref,
  );
  const statements = identityStatements().filter((s) => s.where === roleId || managed.includes(s.where));
  return new Set(
    statements.filter((s) => s.statement.Effect === 'Allow').flatMap((s) => asArray(s.statement.Action)),
  );
}

function roleStatements(roleId: string): Statement[] {
  return identityStatements()
    .filter((s) => s.where === roleId)
    .map((s) => s.statement);
}

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'ebship-package-'));
  await packageService(SERVICE_DIR, outDir, STAGE);
  template = JSON.parse(readFileSync(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8'));
  config = parse(readFileSync(join(SERVICE_DIR, 'ebship.yml'), 'utf8'));
}, 300_000);

afterAll(() => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('deploy state machine', () => {
  it('is named for the stage, logs errors without execution data, and is an output', () => {
    const sm = resource('DeployStateMachine');

    expect(sm.Type).toBe('AWS::StepFunctions::StateMachine');
    expect(sm.Properties.StateMachineName).toBe(`ebship-${STAGE}-deploy`);
    expect(sm.Properties.StateMachineType).toBe('STANDARD');
    expect(sm.Properties.LoggingConfiguration).toMatchObject({ Level: 'ERROR', IncludeExecutionData: false });
    expect(Object.values(template.Outputs).map((o) => o.Value)).toContainEqual({ Ref: 'DeployStateMachine' });
  });

  it('runs the ASL file unchanged, each <Name>Arn placeholder substituted by that function', () => {
    const asl = parse(readFileSync(join(SERVICE_DIR, 'state-machines/deploy.asl.yml'), 'utf8')) as {
      States: Record<string, unknown>;
    };
    const sm = resource('DeployStateMachine');
    const definitionString = sm.Properties.DefinitionString;
    const substitutions = sm.Properties.DefinitionSubstitutions as Record<string, unknown>;

    expect(typeof definitionString).toBe('string');
    const definition = JSON.parse(definitionString as string) as { States: Record<string, unknown> };
    expect(definition).toEqual(asl);
    const placeholders = [
      ...new Set([...(definitionString as string).matchAll(/\$\{(\w+)\}/g)].map((m) => m[1])),
    ];
    expect(placeholders.sort()).toEqual(
      Object.keys(FUNCTIONS)
        .map((n) => `${n}Arn`)
        .sort(),
    );
    expect(Object.keys(substitutions).sort()).toEqual(placeholders);
    for (const name of Object.keys(FUNCTIONS)) {
      const logicalId = `${name}LambdaFunction`;
      expect(substitutions[`${name}Arn`]).toEqual(getAtt(logicalId));
      expect(resource(logicalId).Type).toBe('AWS::Lambda::Function');
      expect(resource(logicalId).Properties.Handler).toBe(`functions/${kebab(name)}.handler`);
    }
  });

  it('may invoke exactly the 14 functions', () => {
    const role = resource('DeployStateMachine').Properties.RoleArn;
    const invoke = roleStatements('DeployStateMachineRole').find((s) => s.Action === 'lambda:InvokeFunction');

    expect(role).toEqual(getAtt('DeployStateMachineRole'));
    expect(invoke?.Resource).toEqual(Object.keys(FUNCTIONS).map((n) => getAtt(`${n}LambdaFunction`)));
  });
});

describe('functions', () => {
  it('run Node.js 24 on arm64 with the documented environment', () => {
    const functions = ofType('AWS::Lambda::Function');

    // The 20 steps of the state machine, executionEnded (the ExecutionEndedRule's target),
    // undeliveredEvents (the UndeliveredEventsRule's), reconcile (the ReconcileRule's) and ebEvents
    // (the EbEventsRule's).
    expect(functions).toHaveLength(24);
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
      const env = (fn.Properties.Environment as { Variables: Json }).Variables;
      expect(env).toMatchObject({
        EBSHIP_CONFIG: 'ebship.yml',
        TABLE_NAME: { Ref: 'DeployTable' },
        BUNDLE_BUCKET: { Ref: 'BundleBucket' },
        ALERT_TOPIC_ARN: { Ref: 'AlertTopic' },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub text.
        MIGRATION_DOCUMENT_NAME: { 'Fn::Sub': '${AWS::StackName}-migration-check' },
        POWERTOOLS_SERVICE_NAME: 'ebship',
      });
      expect(env.POWERTOOLS_LOG_LEVEL).toEqual(expect.any(String));
    }
  });

  it('each have a role of their own, and no shared role exists', () => {
    const roles = Object.keys(FUNCTIONS).map(
      (n) =>
        (resource(`${n}LambdaFunction`).Properties.Role as { 'Fn::GetAtt': [string, string] })[
          'Fn::GetAtt'
        ][0],
    );

    expect(new Set(roles).size).toBe(20);
    for (const role of roles) expect(resource(role).Type).toBe('AWS::IAM::Role');
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
  });

  // The calls are read from the code (test/infra/sdk-calls.ts), so the roles follow the code.
  it.each(FUNCTION_NAMES)('%s may make every AWS call its code makes, and nothing else', (name) => {
    const calls = callsOf(`functions/${kebab(name)}.ts`);
    const actions = roleActions(`${name}Role`);

    expect(calls.size).toBeGreaterThan(0);
    for (const call of [...calls, ...LOG_ACTIONS]) expect(actions, `${name} calls ${call}`).toContain(call);
    const unused = [...actions].filter(
      (a) => !calls.has(a) && !LOG_ACTIONS.includes(a) && !(a in (ON_BEHALF[name] ?? {})),
    );
    expect(unused, `${name} is granted actions its code never calls`).toEqual([]);
  });

  // `ebship doctor` finds each role by the name it derives from serverless.yml (docs/iam.md).
  it('each have a role named as ebship doctor looks it up: ebship-<stage>-<function>', () => {
    const functions = deployFunctions(SERVICE_DIR);

    expect(functions.map((f) => f.roleLogicalId).sort()).toEqual(
      [...FUNCTION_NAMES, 'ExecutionEnded', 'UndeliveredEvents', 'Reconcile', 'EbEvents']
        .map((n) => `${n}Role`)
        .sort(),
    );
    for (const fn of functions) {
      expect(resource(fn.roleLogicalId).Properties.RoleName).toBe(roleNameOf(fn, STAGE));
      expect(roleNameOf(fn, STAGE)).toBe(`ebship-${STAGE}-${kebab(fn.roleLogicalId.replace(/Role$/, ''))}`);
    }
  });

  it('each write logs only to their own log group', () => {
    for (const name of Object.keys(FUNCTIONS)) {
      const logs = roleStatements(`${name}Role`).find((s) => asArray(s.Action).includes('logs:PutLogEvents'));
      expect(logs?.Resource).toEqual(getAtt(`${name}LogGroup`));
    }
  });

  it('each ship ebship.yml beside the bundled handler', () => {
    for (const name of Object.keys(FUNCTIONS)) {
      const zip = unzipSync(readFileSync(join(outDir, `${lowerFirst(name)}.zip`)));
      const files = Object.keys(zip);

      expect(files).toContain('ebship.yml');
      expect(files).toContain(`functions/${kebab(name)}.cjs`);
      expect(new TextDecoder().decode(zip['ebship.yml'])).toBe(
        readFileSync(join(SERVICE_DIR, 'ebship.yml'), 'utf8'),
      );
    }
  });
  it('each load with require() on Node.js, as Lambda loads a .cjs handler, with only their zip, exporting handler', async () => {
    for (const name of Object.keys(FUNCTIONS)) {
      const taskRoot = mkdtempSync(join(tmpdir(), `ebship-${lowerFirst(name)}-`));
      try {
        for (const [file, bytes] of Object.entries(
          unzipSync(readFileSync(join(outDir, `${lowerFirst(name)}.zip`))),
        )) {
          mkdirSync(dirname(join(taskRoot, file)), { recursive: true });
          writeFileSync(join(taskRoot, file), bytes);
        }
        const entry = join(taskRoot, `functions/${kebab(name)}.cjs`);

        const { stdout } = await run(
          process.execPath,
          ['-e', `const m = require(${JSON.stringify(entry)}); console.log(typeof m.handler);`],
          {
            cwd: taskRoot,
            env: {
              PATH: process.env.PATH,
              NODE_NO_WARNINGS: '1',
              LAMBDA_TASK_ROOT: taskRoot,
              AWS_REGION: 'us-east-1',
              EBSHIP_CONFIG: 'ebship.yml',
              TABLE_NAME: 'ebship-test',
              BUNDLE_BUCKET: 'ebship-test-bundles',
              ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:ebship-test-alerts',
              MIGRATION_DOCUMENT_NAME: 'ebship-test-migration-check',
              POWERTOOLS_SERVICE_NAME: 'ebship',
              POWERTOOLS_LOG_LEVEL: 'SILENT',
            },
          },
        );

        expect(stdout.trim(), name).toBe('function');
      } finally {
        rmSync(taskRoot, { recursive: true, force: true });
      }
    }
  }, 120_000);
});

describe('least privilege', () => {
  it('no identity policy allows every action, or any resource for an action that has a resource type', () => {
    const offenders: string[] = [];
    for (const { where, statement } of identityStatements()) {
      if (statement.Effect !== 'Allow') continue;
      const actions = asArray(statement.Action);
      if (actions.some((a) => a === '*' || a.endsWith(':*')))
        offenders.push(`${where}: ${actions.join(', ')}`);
      if (asArray(statement.Resource).includes('*')) {
        const notStarOnly = actions.filter((a) => !STAR_ONLY_ACTIONS.has(a));
        if (notStarOnly.length > 0) offenders.push(`${where}: ${notStarOnly.join(', ')} on "*"`);
      }
    }

    expect(offenders).toEqual([]);
  });

  it('lists in docs/iam.md only "*" grants the template makes, each with why and an AWS source', () => {
    const onStar = new Set(
      identityStatements()
        .filter((s) => s.statement.Effect === 'Allow' && asArray(s.statement.Resource).includes('*'))
        .flatMap((s) => asArray(s.statement.Action)),
    );

    expect(STAR_ROWS.length).toBeGreaterThan(0);
    for (const row of STAR_ROWS) {
      expect(row.source, row.actions.join(', ')).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
      expect(row.why.length, row.actions.join(', ')).toBeGreaterThan(20);
    }
    expect([...STAR_ONLY_ACTIONS].filter((a) => !onStar.has(a))).toEqual([]);
  });

  // A prefix wildcard (`awseb-e-*`, `role/*`, `bucket/*`) on a write reaches resources of every EB
  // environment in the account, configured or not: each must be pinned to the configured
  // environments by a tag condition, name one of them, be ebship's own resource, or be a documented
  // exception (docs/iam.md).
  it('pins every write on a wildcard resource to the configured environments or ebship’s own resources', () => {
    const environments = [
      ...new Set(Object.values(config.targets).map((t) => t.environment as string)),
    ].sort();
    const applications = [...new Set(Object.values(config.targets).map((t) => t.application as string))];
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub text.
    const BUNDLE_OBJECTS = '${BundleBucket.Arn}/';
    const READ = /:(Describe|Get|List|Decrypt|GenerateDataKey)/;
    const EXCEPTIONS: Record<string, RegExp> = {
      // References a launch uses (AMI, subnet, security group, key pair, launch template) and the
      // network interface it creates; RunInstances changes none of them.
      'ec2:RunInstances': /:(image|subnet|security-group|network-interface|launch-template|key-pair)\/\*$/,
      // The instance profile's role is set per environment outside ebship.yml; passed to EC2 only.
      'iam:PassRole': /:role\/\*$/,
      // EB's per-environment artifacts live under environment ids, unknown until the environment exists.
      's3:PutObject': /elasticbeanstalk-\$\{AWS::Region\}-\$\{AWS::AccountId\}\/resources\/environments\/\*$/,
      's3:DeleteObject':
        /elasticbeanstalk-\$\{AWS::Region\}-\$\{AWS::AccountId\}\/resources\/environments\/\*$/,
    };
    const pinned = (condition: Json | undefined): boolean =>
      Object.values(condition ?? {}).some((test) =>
        Object.entries(test as Json).some(
          ([key, values]) =>
            key.endsWith('/elasticbeanstalk:environment-name') &&
            JSON.stringify([...asArray(values as string | string[])].sort()) === JSON.stringify(environments),
        ),
      );
    const text = (r: unknown): string =>
      typeof r === 'string' ? r : ((r as { 'Fn::Sub'?: string })['Fn::Sub'] ?? JSON.stringify(r));
    const offenders: string[] = [];
    for (const { where, statement } of identityStatements()) {
      if (statement.Effect !== 'Allow') continue;
      for (const action of asArray(statement.Action)) {
        if (READ.test(action) || STAR_ONLY_ACTIONS.has(action)) continue;
        for (const resource of asArray(statement.Resource).map(text)) {
          if (!resource.includes('*') && !resource.includes('?')) continue;
          const own = resource.startsWith(BUNDLE_OBJECTS) || resource.includes(':execution:ebship-');
          const namesEnvironment =
            environments.some((e) => resource.includes(`/aws/elasticbeanstalk/${e}/`)) ||
            applications.some((a) => resource.endsWith(`:applicationversion/${a}/*`));
          if (own || namesEnvironment || pinned(statement.Condition)) continue;
          if (EXCEPTIONS[action]?.test(resource)) continue;
          offenders.push(`${where}: ${action} on ${resource}`);
        }
      }
    }

    expect(offenders).toEqual([]);
  });

  it('leaves every write to EB’s downstream resources to the operations role, which only EB may assume', () => {
    const lambdaRoles = FUNCTION_NAMES.map((n) => `${n}Role`);
    const downstream = /^(cloudformation|autoscaling|ec2|elasticloadbalancing|ecs|iam|cloudwatch):/;
    for (const role of lambdaRoles) {
      expect(
        // Reading the alarm gates' states (health.alarms) is not a write.
        [...roleActions(role)].filter((a) => downstream.test(a) && a !== 'cloudwatch:DescribeAlarms'),
        role,
      ).toEqual([]);
      expect(resource(role).Properties.ManagedPolicyArns).toBeUndefined();
    }
    const ops = resource('EbOperationsRole');
    expect(ops.Properties.AssumeRolePolicyDocument).toMatchObject({
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'elasticbeanstalk.amazonaws.com' },
          Action: 'sts:AssumeRole',
        },
      ],
    });
    expect(roleActions('EbOperationsRole')).toContain('cloudformation:UpdateStack');
    expect(template.Outputs.EbOperationsRoleArn?.Value).toEqual(getAtt('EbOperationsRole'));
  });

  // Secrets Manager puts the secret's ARN in the KMS encryption context of every Decrypt.
  it('decrypts only through Secrets Manager and only for the configured secrets', () => {
    const decrypt = roleStatements('ValidateSecretsRole').find((s) => s.Action === 'kms:Decrypt');
    const secrets = roleStatements('ValidateSecretsRole').find((s) =>
      asArray(s.Action).includes('secretsmanager:GetSecretValue'),
    );

    expect(decrypt?.Condition).toMatchObject({
      StringEquals: { 'kms:ViaService': expect.anything() },
      StringLike: { 'kms:EncryptionContext:SecretARN': secrets?.Resource },
    });
  });

  it('reads only the secrets ebship.yml names', () => {
    const secretIds = new Set(
      Object.values(config.targets).flatMap((t) =>
        Object.values((t.secrets as Record<string, { secretId: string }>) ?? {}).map((s) => s.secretId),
      ),
    );
    const statement = roleStatements('ValidateSecretsRole').find((s) =>
      asArray(s.Action).includes('secretsmanager:GetSecretValue'),
    );
    const arns = asArray(statement?.Resource as { 'Fn::Sub': string }[]).map((r) => r['Fn::Sub']);

    expect(arns).toHaveLength(secretIds.size);
    for (const id of secretIds) {
      expect(arns).toContain(
        `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${id}-??????`,
      );
    }
  });

  // DescribeAlarms is authorized on the alarm's ARN (service authorization reference, CloudWatch).
  it('reads only the alarms ebship.yml names, from CheckHealth alone', () => {
    const names = new Set(
      Object.values(config.targets).flatMap(
        (t) => (t.health as { alarms?: string[] } | undefined)?.alarms ?? [],
      ),
    );
    expect(names.size).toBeGreaterThan(0);
    const statement = roleStatements('CheckHealthRole').find((s) =>
      asArray(s.Action).includes('cloudwatch:DescribeAlarms'),
    );
    const arns = asArray(statement?.Resource as { 'Fn::Sub': string }[]).map((r) => r['Fn::Sub']);

    expect(arns.sort()).toEqual(
      [...names]
        .map((n) => `arn:\${AWS::Partition}:cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:${n}`)
        .sort(),
    );
    const others = FUNCTION_NAMES.filter((n) => n !== 'CheckHealth');
    for (const n of others)
      expect([...roleActions(`${n}Role`)], n).not.toContain('cloudwatch:DescribeAlarms');
  });

  it("sends commands only with the targets' own check documents, to instances of configured environments", () => {
    const environments = Object.values(config.targets).map((t) => t.environment);
    const withCheck = Object.entries(config.targets)
      .filter(([, t]) => t.migrationCheck !== undefined)
      .map(([name]) => name);
    const sends = roleStatements('StartMigrationCheckRole').filter((s) => s.Action === 'ssm:SendCommand');

    expect(sends).toHaveLength(2);
    expect(sends[0]?.Resource).toEqual(withCheck.map((t) => ({ 'Fn::Sub': documentArn(t) })));
    expect(sends[1]?.Condition).toEqual({
      StringEquals: {
        'ssm:resourceTag/elasticbeanstalk:environment-name': [...new Set(environments)].sort(),
      },
    });
  });

  it('lets EventBridge only start the deploy state machine', () => {
    const target = first(resource('EcrPushRule').Properties.Targets as Json[], 'ECR rule target');
    const roleId = (target.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];

    expect(roleStatements(roleId)).toEqual([
      { Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: 'DeployStateMachine' } },
    ]);
  });
});

describe('events', () => {
  it("starts a deploy only for this account's successful, tagged pushes to the configured repositories", () => {
    const repositories = [
      ...new Set(Object.values(config.targets).map((t) => (t.source as Json).repository)),
    ].sort();
    const rule = resource('EcrPushRule');

    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.ecr'],
      'detail-type': ['ECR Image Action'],
      account: [{ Ref: 'AWS::AccountId' }],
      detail: {
        'action-type': ['PUSH'],
        result: ['SUCCESS'],
        'repository-name': repositories,
        // treasury-plane-dev's tags are a regex, which EventBridge cannot express: any tagged push.
        'image-tag': [{ exists: true }],
      },
    });
    expect(rule.Properties.Targets).toEqual([
      expect.objectContaining({
        Arn: { Ref: 'DeployStateMachine' },
        RetryPolicy: expect.objectContaining({ MaximumRetryAttempts: expect.any(Number) }),
        DeadLetterConfig: { Arn: getAtt('EventsDeadLetterQueue') },
      }),
    ]);
  });

  it('keeps the pattern in infra/events.yml in the shape the local stand-in reads', () => {
    const file = parse(readFileSync(join(SERVICE_DIR, 'infra/events.yml'), 'utf8'), {
      logLevel: 'silent',
    }) as {
      Resources: { EcrPushRule: { Properties: { EventPattern: { detail: Json } } } };
    };

    expect(file.Resources.EcrPushRule.Properties.EventPattern.detail['repository-name']).toBe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the Serverless variable, literally.
      '${self:custom.ebship.repositories}',
    );
    expect(file.Resources.EcrPushRule.Properties.EventPattern.detail['image-tag']).toBe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the Serverless variable, literally.
      '${self:custom.ebship.imageTagFilters}',
    );
  });

  it('parks undeliverable events in an encrypted queue only our rules may write to, and alarms on it', () => {
    const queue = resource('EventsDeadLetterQueue');
    const [, policy] = first(ofType('AWS::SQS::QueuePolicy'), 'queue policy');
    const [, alarm] = first(ofType('AWS::CloudWatch::Alarm'), 'alarm');
    const allow = asArray((policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement).find(
      (s) => s.Effect === 'Allow',
    );

    expect(queue.Properties.SqsManagedSseEnabled ?? queue.Properties.KmsMasterKeyId).toBeTruthy();
    expect(allow).toMatchObject({
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Condition: { ArnEquals: { 'aws:SourceArn': expect.arrayContaining([getAtt('EcrPushRule')]) } },
    });
    expect(alarm.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: getAtt('EventsDeadLetterQueue', 'QueueName') }],
    });
    // Not CloudWatch's raw JSON on the topic (no subject, no attributes): through ebship's code.
    expect(alarm.Properties.AlarmActions).toBeUndefined();
    const rule = resource('UndeliveredEventsRule');
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.cloudwatch'],
      'detail-type': ['CloudWatch Alarm State Change'],
      resources: [getAtt('EventsDeadLetterAlarm', 'Arn')],
      detail: { state: { value: ['ALARM'] } },
    });
    expect((rule.Properties.Targets as Json[])[0]?.Arn).toEqual(
      getAtt('UndeliveredEventsLambdaFunction', 'Arn'),
    );
    expect(resource('UndeliveredEventsInvokePermission').Properties).toMatchObject({
      Principal: 'events.amazonaws.com',
      SourceArn: getAtt('UndeliveredEventsRule', 'Arn'),
    });
    expect(roleActions('UndeliveredEventsRole')).toEqual(
      new Set([
        ...LOG_ACTIONS,
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'sns:Publish',
        'kms:GenerateDataKey*',
        'kms:Decrypt',
      ]),
    );
  });

  it("finalises and alerts through ebship's own code when an execution times out or is aborted from outside", () => {
    const rule = resource('ExecutionEndedRule');
    const target = (rule.Properties.Targets as Json[])[0];

    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['TIMED_OUT', 'ABORTED'], stateMachineArn: [{ Ref: 'DeployStateMachine' }] },
    });
    // Not a raw event on the topic: the same alert path, attributes and claim as NotifyOnCall.
    expect(target?.Arn).toEqual(getAtt('ExecutionEndedLambdaFunction', 'Arn'));
    expect(target?.InputTransformer).toBeUndefined();
    expect(target?.DeadLetterConfig).toEqual({ Arn: getAtt('EventsDeadLetterQueue', 'Arn') });
    expect(resource('ExecutionEndedInvokePermission').Properties).toMatchObject({
      Principal: 'events.amazonaws.com',
      SourceArn: getAtt('ExecutionEndedRule', 'Arn'),
    });
  });
});

describe('reconciler', () => {
  it('runs every 5 minutes, without the dead-letter queue a lost push would be parked in', () => {
    const rule = resource('ReconcileRule');
    const target = (rule.Properties.Targets as Json[])[0];

    expect(rule.Properties.ScheduleExpression).toBe('rate(5 minutes)');
    expect(rule.Properties.EventPattern).toBeUndefined();
    expect(target?.Arn).toEqual(getAtt('ReconcileLambdaFunction', 'Arn'));
    expect(target?.DeadLetterConfig).toBeUndefined();
    expect(resource('ReconcileInvokePermission').Properties).toMatchObject({
      Principal: 'events.amazonaws.com',
      SourceArn: getAtt('ReconcileRule', 'Arn'),
    });
    expect(
      (resource('ReconcileLambdaFunction').Properties.Environment as { Variables: Json }).Variables
        .STATE_MACHINE_ARN,
    ).toEqual({ Ref: 'DeployStateMachine' });
  });

  it('may make every AWS call its code makes, and nothing else, on ebship’s own resources', () => {
    const calls = callsOf('functions/reconcile.ts');
    const actions = roleActions('ReconcileRole');

    expect([...calls].sort()).toEqual(
      [
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'ecr:DescribeImages',
        'elasticbeanstalk:DescribeEnvironments',
        'sns:Publish',
        'states:StartExecution',
      ].sort(),
    );
    expect(actions).toEqual(new Set([...calls, ...LOG_ACTIONS, ...Object.keys(ON_BEHALF.Reconcile ?? {})]));
    const start = roleStatements('ReconcileRole').find((s) => s.Action === 'states:StartExecution');
    expect(start?.Resource).toEqual({ Ref: 'DeployStateMachine' });
    const describe = roleStatements('ReconcileRole').find(
      (s) => s.Action === 'elasticbeanstalk:DescribeEnvironments',
    );
    expect(describe?.Resource).not.toBe('*');
  });
});

describe('the event-driven health watch (issue 13)', () => {
  it("sends EB's health and environment status events to ebEvents only, which may wake only the deploy state machine's tasks", () => {
    const rule = resource('EbEventsRule');
    const target = (rule.Properties.Targets as Json[])[0];

    // Detail types from the EB developer guide, "Using Elastic Beanstalk with Amazon EventBridge";
    // only the configured environments' events (detail.EnvironmentName in its example events).
    const environments = [
      ...new Set(Object.values(config.targets).map((t) => (t as { environment: string }).environment)),
    ];
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.elasticbeanstalk'],
      'detail-type': ['Health status change', 'Elastic Beanstalk resource status change'],
      detail: { EnvironmentName: environments },
    });
    expect(target?.Arn).toEqual(getAtt('EbEventsLambdaFunction', 'Arn'));
    // A wake is worth little after the fallback interval; it never reaches the push DLQ's alarm.
    expect(target?.DeadLetterConfig).toBeUndefined();
    expect(resource('EbEventsInvokePermission').Properties).toMatchObject({
      Principal: 'events.amazonaws.com',
      SourceArn: getAtt('EbEventsRule', 'Arn'),
    });
    for (const role of ['EbEventsRole', 'RegisterWatchRole']) {
      const send = roleStatements(role).find((st) => asArray(st.Action).includes('states:SendTaskSuccess'));
      expect(send?.Resource, role).toEqual({ Ref: 'DeployStateMachine' });
    }
    // Issue 14: a newer promotion answers an older one's approval wait, and a retried wait gets the
    // answer recorded for it, on this state machine only.
    for (const action of ['states:SendTaskFailure', 'states:SendTaskSuccess']) {
      const answer = roleStatements('RequestApprovalRole').find((st) => asArray(st.Action).includes(action));
      expect(answer?.Resource, action).toEqual({ Ref: 'DeployStateMachine' });
    }
  });
});

describe('storage and alerting', () => {
  it('lets no AWS service publish to the alert topic or use its key: every alert comes from ebship code', () => {
    const key = resource('AlertTopicKey');
    const [, topicPolicy] = first(ofType('AWS::SNS::TopicPolicy'), 'topic policy');
    const principals = [
      ...asArray((key.Properties.KeyPolicy as { Statement: Statement[] }).Statement),
      ...asArray((topicPolicy.Properties.PolicyDocument as { Statement: Statement[] }).Statement).filter(
        (s) => s.Effect === 'Allow',
      ),
    ].flatMap((s) =>
      asArray(((s as Statement & { Principal?: { Service?: string } }).Principal?.Service ?? []) as string[]),
    );

    expect(resource('AlertTopic').Properties.KmsMasterKeyId).toEqual({ Ref: 'AlertTopicKey' });
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(principals).toEqual([]);
    expect(Object.values(template.Outputs).map((o) => o.Value)).toContainEqual({ Ref: 'AlertTopic' });
  });

  it('keeps bundles private, encrypted, TLS-only, versioned and expiring', () => {
    const bucket = resource('BundleBucket').Properties;
    const [, policy] = first(
      ofType('AWS::S3::BucketPolicy').filter(([, p]) => JSON.stringify(p).includes('BundleBucket')),
      'bundle bucket policy',
    );
    const statements = asArray((policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
    const rules = (bucket.LifecycleConfiguration as { Rules: Json[] }).Rules;

    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(JSON.stringify(bucket.BucketEncryption)).toMatch(/"SSEAlgorithm":"(AES256|aws:kms)"/);
    expect(bucket.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(rules).toContainEqual(
      expect.objectContaining({
        Status: 'Enabled',
        ExpirationInDays: expect.any(Number),
        NoncurrentVersionExpiration: { NoncurrentDays: expect.any(Number) },
      }),
    );
  });

  it('keeps the deployment bucket (the Lambda zips) private and TLS-only', () => {
    expect(resource('ServerlessDeploymentBucket').Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    const statements = (
      resource('ServerlessDeploymentBucketPolicy').Properties.PolicyDocument as { Statement: Statement[] }
    ).Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Condition: { Bool: { 'aws:SecureTransport': false } },
      }),
    );
  });

  it('keeps the table on demand, keyed pk/sk, with TTL, point-in-time recovery and encryption', () => {
    const table = resource('DeployTable').Properties;

    expect(table).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });
});

describe('migration check documents', () => {
  interface DocumentContent {
    schemaVersion: string;
    parameters?: unknown;
    mainSteps: { action: string; inputs: { runCommand: string[]; timeoutSeconds: string } }[];
  }
  const documents = () =>
    ofType('AWS::SSM::Document')
      .map(([, r]) => ({
        name: (r.Properties.Name as { 'Fn::Sub': string })['Fn::Sub'],
        content: r.Properties.Content as DocumentContent,
      }))
      .filter((d) => d.name.includes('-migration-check-'));

  it('are one per target with a check, named for it, taking no parameters', () => {
    const withCheck = Object.entries(config.targets).filter(([, t]) => t.migrationCheck !== undefined);

    expect(documents().map((d) => d.name)).toEqual(
      withCheck.map(([name]) => `\${AWS::StackName}-migration-check-${name}`),
    );
    for (const { content } of documents()) {
      expect(content.schemaVersion).toBe('2.2');
      expect(content.parameters).toBeUndefined();
      expect(content.mainSteps[0]?.action).toBe('aws:runShellScript');
      expect(content.mainSteps[0]?.inputs.runCommand.join('\n')).not.toMatch(/\{\{|mapfile/);
    }
  });

  it("fix each target's container, argv and timeout from ebship.yml", () => {
    const antenna = documents().find((d) => d.name.endsWith('-antenna-prod'));
    const script = antenna?.content.mainSteps[0]?.inputs.runCommand[0] ?? '';

    expect(script).toContain("container='django'");
    const argv = [...script.matchAll(/printf '%s' '([A-Za-z0-9+/=]*)'/g)].map((m) =>
      Buffer.from(m[1] ?? '', 'base64').toString('utf8'),
    );
    expect(argv).toEqual(['python', 'manage.py', 'migrate', '--check']);
    expect(antenna?.content.mainSteps[0]?.inputs.timeoutSeconds).toBe('300');
  });
});

describe('release-phase and check documents', () => {
  interface Doc {
    name: string;
    content: {
      parameters?: Record<string, { allowedPattern?: string }>;
      mainSteps: { inputs: { runCommand: unknown[]; timeoutSeconds: string } }[];
    };
  }
  const documents = (): Doc[] =>
    ofType('AWS::SSM::Document').map(([, r]) => ({
      name: (r.Properties.Name as { 'Fn::Sub': string })['Fn::Sub'],
      content: r.Properties.Content as Doc['content'],
    }));

  it('give each release document one parameter, the digest, which SSM checks against a digest pattern', () => {
    const releases = documents().filter((d) => d.name.includes('-release-'));
    expect(releases.map((d) => d.name)).toEqual(
      Object.entries(config.targets)
        .filter(([, t]) => t.release !== undefined)
        .map(([name]) => `\${AWS::StackName}-release-${name}`),
    );
    for (const d of releases) {
      expect(d.content.parameters).toEqual({
        imageDigest: expect.objectContaining({ allowedPattern: '^sha256:[a-f0-9]{64}$' }),
      });
      // The registry is the stack's own account and region, joined in by CloudFormation.
      const script = JSON.stringify(d.content.mainSteps[0]?.inputs.runCommand);
      expect(script).toContain('AWS::AccountId');
      expect(script).not.toContain('@@EBSHIP_');
    }
  });

  it('give each post-deploy check a document of its own, without parameters', () => {
    const checks = documents().filter((d) => /-check-/.test(d.name) && !d.name.includes('-migration-check-'));
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub text.
    expect(checks.map((d) => d.name)).toContain('${AWS::StackName}-check-antenna-prod-celery-worker');
    for (const d of checks) expect(d.content.parameters).toBeUndefined();
  });
});
