import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/** What serverless.yml reads from ebship.yml at package time (infra/config-vars.cjs). */
interface ConfigVars {
  repositories: string[];
  environmentNames: string[];
  environmentArns: { 'Fn::Sub': string }[];
  secretArns: (string | { 'Fn::Sub': string })[];
  alertTopicArns: unknown[];
  packagePatterns: string[];
}
const { configVars } = createRequire(import.meta.url)('../../infra/config-vars.cjs') as {
  configVars: (text: string) => ConfigVars;
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

  it('adds per-target alert topics after the ebship topic, and packages include directories', () => {
    const extra = `    alertTopicArn: arn:aws:sns:us-east-1:123456789012:shop-oncall
    include: deploy/shop
`;

    const vars = configVars(`version: 1\ntargets:${target('shop-a', extra)}`);

    expect(vars.alertTopicArns).toEqual([
      { Ref: 'AlertTopic' },
      'arn:aws:sns:us-east-1:123456789012:shop-oncall',
    ]);
    expect(vars.packagePatterns).toEqual(['ebship.yml', 'deploy/shop/**']);
  });

  it('refuses to package without targets, naming the file', () => {
    expect(() => configVars('version: 1\ntargets: {}\n')).toThrow(/ebship\.yml: has no targets/);
  });

  it('names the field when a target lacks its repository', () => {
    const text = 'version: 1\ntargets:\n  shop:\n    application: shop\n    environment: shop-env\n';

    expect(() => configVars(text)).toThrow('targets.shop.source.repository must be a non-empty string');
  });
});
