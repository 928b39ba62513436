import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** What serverless.yml reads from ebship.yml at package time (infra/config-vars.cjs). */
interface ConfigVars {
  repositories: string[];
  environmentNames: string[];
  environmentArns: { 'Fn::Sub': string }[];
  secretArns: (string | { 'Fn::Sub': string })[];
  alertTopicArns: unknown[];
  packagePatterns: string[];
  imageTagFilters: unknown[];
}
const { configVars } = createRequire(import.meta.url)('../../infra/config-vars.cjs') as {
  configVars: (text: string, file?: string, root?: string) => ConfigVars;
};

const target = (name: string, extra = '') => `
  ${name}:
    application: shop
    environment: ${name}-env
    platform: docker
    source: { repository: shop/api }
    containers: [{ name: web, image: "{{image}}" }]
${extra}`;

// biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub text.
const ACCOUNT = 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}';

describe('config-vars (ebship.yml → serverless.yml)', () => {
  it('lists each repository and environment once, however many targets share them', () => {
    const vars = configVars(`version: 1\ntargets:${target('shop-a')}${target('shop-b')}`);

    expect(vars.repositories).toEqual(['shop/api']);
    expect(vars.environmentNames).toEqual(['shop-a-env', 'shop-b-env']);
    expect(vars.environmentArns.map((a) => a['Fn::Sub'])).toEqual([
      expect.stringMatching(/:environment\/shop\/shop-a-env$/),
      expect.stringMatching(/:environment\/shop\/shop-b-env$/),
    ]);
  });

  it('turns a secret name into its ARN with the six-character suffix, and keeps a full ARN', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shared/db-AbCdEf';
    const secrets = `    secrets:
      DATABASE_URL: { secretId: shop/db }
      SHARED: { secretId: "${arn}" }
`;

    const vars = configVars(`version: 1\ntargets:${target('shop-a', secrets)}`);

    expect(vars.secretArns).toEqual([arn, { 'Fn::Sub': `${ACCOUNT}:secret:shop/db-??????` }]);
  });

  it('grants no real secret when no target has secrets, yet keeps the policy valid', () => {
    const vars = configVars(`version: 1\ntargets:${target('shop-a')}`);

    expect(vars.secretArns).toEqual([{ 'Fn::Sub': `${ACCOUNT}:secret:ebship-no-secrets-configured-??????` }]);
  });

  it('adds per-target alert topics after the ebship topic', () => {
    const extra = `    alertTopicArn: arn:aws:sns:us-east-1:123456789012:shop-oncall
`;

    const vars = configVars(`version: 1\ntargets:${target('shop-a', extra)}`);

    expect(vars.alertTopicArns).toEqual([
      { Ref: 'AlertTopic' },
      'arn:aws:sns:us-east-1:123456789012:shop-oncall',
    ]);
  });

  // EventBridge content filters: prefix, wildcard, anything-but, exists
  // (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html).
  describe('ECR rule tag filters', () => {
    const filters = (...sources: string[]) =>
      configVars(
        `version: 1\ntargets:${sources.map((source, i) => target(`shop-${i}`, `    source: ${source}\n`)).join('')}`.replace(
          /\n {4}source: \{ repository: shop\/api \}(?=\n {4}containers)/g,
          '',
        ),
      ).imageTagFilters;

    it('filters each glob EventBridge can express: prefix, wildcard, exact, and "*" minus ignored tags', () => {
      expect(
        filters(
          '{ repository: a, tags: "v*" }',
          '{ repository: b, tags: "*-prod" }',
          '{ repository: c, tags: "stable" }',
          '{ repository: d }',
        ),
      ).toEqual(['stable', { 'anything-but': ['latest'] }, { prefix: 'v' }, { wildcard: '*-prod' }]);
    });

    it.each(['{ regex: "^v\\\\d+$" }', '"v?.*"', '"{a,b}*"', '"[vV]*"'])(
      'lets every tagged push through when a pattern (%s) cannot be expressed: ResolveRelease ignores the rest',
      (tags) => {
        expect(filters('{ repository: a, tags: "v*" }', `{ repository: b, tags: ${tags} }`)).toEqual([
          { exists: true },
        ]);
      },
    );
  });

  describe('include directories', () => {
    let root: string;
    let outside: string;
    beforeAll(() => {
      root = mkdtempSync(join(tmpdir(), 'ebship-config-vars-'));
      const dir = join(root, 'deploy/shop');
      mkdirSync(join(dir, '.ebextensions'), { recursive: true });
      mkdirSync(join(dir, '.platform/hooks/predeploy'), { recursive: true });
      writeFileSync(join(dir, '.ebextensions/01-app.config'), 'option_settings: {}\n');
      writeFileSync(join(dir, '.platform/hooks/predeploy/[1] run*.sh'), '#!/bin/sh\n');
      symlinkSync('hooks', join(dir, '.platform/confighooks'));
      writeFileSync(join(dir, 'Procfile'), 'web: gunicorn\n');
      writeFileSync(join(dir, 'README.md'), 'not bundled\n');
      outside = mkdtempSync(join(tmpdir(), 'ebship-outside-'));
      symlinkSync(outside, join(root, 'deploy/elsewhere'));
      symlinkSync('/etc', join(root, 'deploy/etc'));
    });
    afterAll(() => {
      rmSync(root, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    });
    const vars = (include: string) =>
      configVars(`version: 1\ntargets:${target('shop-a', `    include: ${include}\n`)}`, 'ebship.yml', root);

    // serverless-esbuild copies package patterns with globby without `dot: true`: `deploy/shop/**`
    // silently dropped .ebextensions/ and .platform/.
    it('packages each bundled file by its literal path, dotfiles and linked hooks included', () => {
      expect(vars('deploy/shop').packagePatterns).toEqual([
        'ebship.yml',
        'deploy/shop/.ebextensions/01-app.config',
        'deploy/shop/.platform/confighooks/predeploy/\\[1\\] run\\*.sh',
        'deploy/shop/.platform/hooks/predeploy/\\[1\\] run\\*.sh',
        'deploy/shop/Procfile',
      ]);
    });

    it.each([
      ['../shop', /climbs out with "\.\."/],
      ['deploy/../../x', /climbs out with "\.\."/],
      ['/etc', /is absolute/],
      ['deploy/elsewhere', /outside the repository/],
      ['deploy/etc', /outside the repository/],
    ])('refuses include: %s, which is not inside the repository', (include, message) => {
      expect(() => vars(include)).toThrow(message);
    });
  });

  it('refuses to package without targets, naming the file', () => {
    expect(() => configVars('version: 1\ntargets: {}\n')).toThrow(/ebship\.yml: has no targets/);
  });

  it('names the field when a target lacks its repository', () => {
    const text = 'version: 1\ntargets:\n  shop:\n    application: shop\n    environment: shop-env\n';

    expect(() => configVars(text)).toThrow('targets.shop.source.repository must be a non-empty string');
  });
});
