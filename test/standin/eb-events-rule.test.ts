import { describe, expect, it } from 'vitest';
import { loadEbEventsRule } from '../../standin/ecr-rule.js';
import { matchesPattern } from '../../standin/event-pattern.js';

/**
 * EbEventsRule as infra/events.yml declares it, with the configured environments substituted as
 * serverless does. The event is the shape of the EB developer guide's examples ("Using Elastic
 * Beanstalk with Amazon EventBridge"): the environment is detail.EnvironmentName.
 */
const healthChange = (environment: string) => ({
  source: 'aws.elasticbeanstalk',
  'detail-type': 'Health status change',
  resources: [`arn:aws:elasticbeanstalk:us-east-1:111122223333:environment/app/${environment}`],
  detail: {
    Status: 'Environment health changed',
    EventDate: 1_764_000_000_000,
    ApplicationName: 'app',
    Message: 'Environment health has transitioned from Ok to Severe.',
    EnvironmentName: environment,
    Severity: 'WARN',
  },
});

describe('EbEventsRule: only the configured environments wake ebEvents', () => {
  const rule = loadEbEventsRule({ 'EbEventsLambdaFunction.Arn': 'arn:ebEvents' }, [
    'shop-b-env',
    'shop-a-env',
  ]);

  it("matches a configured environment's health change, and not another environment's in the account", () => {
    if (!rule) throw new Error('infra/events.yml has no EbEventsRule');
    expect(matchesPattern(healthChange('shop-a-env'), rule.pattern)).toBe(true);
    expect(matchesPattern(healthChange('shop-b-env'), rule.pattern)).toBe(true);
    expect(matchesPattern(healthChange('someone-elses-env'), rule.pattern)).toBe(false);
    expect(rule.targetArn).toBe('arn:ebEvents');
  });
});
