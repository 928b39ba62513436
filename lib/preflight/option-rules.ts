import type { Target } from '../config/schema.js';
import type { OptionSetting } from './ebextensions.js';
import { at, type Finding } from './finding.js';
import { checkValue } from './value-checks.js';

/** Rules on option_settings: secrets written in plain text, environmentsecrets that are not ARNs. */

export const ENVIRONMENT = 'aws:elasticbeanstalk:application:environment';
export const ENVIRONMENT_SECRETS = 'aws:elasticbeanstalk:application:environmentsecrets';
const SECRET_NAME =
  /(SECRET|PASSWORD|PASSWD|PASSPHRASE|TOKEN|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIAL|AUTH_KEY|DSN)/i;
const REFERENCE_NAME = /_(ARN|NAME|FILE|PATH)$/i;
const CREDENTIAL_URL = /^[a-z][a-z0-9+.-]*:\/\/[^/\s@:]*:[^/\s@]+@/i;
const AWS_ACCESS_KEY = /^(AKIA|ASIA)[A-Z0-9]{16}$/;

export function optionFindings(options: OptionSetting[], target?: Target): Finding[] {
  const findings: Finding[] = [];
  for (const o of options) {
    const value = o.value.trim();
    if (o.namespace === ENVIRONMENT_SECRETS && value !== '' && !value.startsWith('arn:')) {
      findings.push(
        at(
          {
            ruleId: 'environmentsecrets-not-arn',
            severity: 'error',
            message: `${o.name} in ${ENVIRONMENT_SECRETS} is not an ARN: EB only resolves Secrets Manager secret or SSM parameter ARNs there`,
            fix: 'Set the full ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>).',
          },
          o.file,
          o.line,
        ),
      );
      continue;
    }
    if (o.namespace !== ENVIRONMENT || value === '' || value.startsWith('arn:') || /^\$\{.*\}$/.test(value))
      continue;
    const declared = target?.secrets[o.name] !== undefined;
    const reason = declared
      ? `ebship.yml declares ${o.name} as a secret, yet this file sets it in plain text`
      : AWS_ACCESS_KEY.test(value)
        ? `${o.name} holds a static AWS access key in plain text`
        : SECRET_NAME.test(o.name) && !REFERENCE_NAME.test(o.name)
          ? `${o.name} looks like a secret and is set in plain text`
          : CREDENTIAL_URL.test(value)
            ? `${o.name} is a URL with a password in plain text`
            : undefined;
    if (reason !== undefined) {
      findings.push(
        at(
          {
            ruleId: 'plaintext-secret',
            severity: 'error',
            message: `${reason}: it is stored in the bundle, shown in the EB console and returned by DescribeConfigurationSettings`,
            fix: AWS_ACCESS_KEY.test(value)
              ? 'Remove the static keys and grant the EB instance profile the access instead; rotate the exposed key.'
              : `Put the value in Secrets Manager, declare ${o.name} under secrets in ebship.yml (ebship passes its ARN through ${ENVIRONMENT_SECRETS}), remove it from this file, and rotate it.`,
          },
          o.file,
          o.line,
        ),
      );
    }
    // Connection URLs in plain settings get the same checks as secrets, messages naming only the variable.
    if (value.includes('://')) {
      const format = /DATABASE_URL$/i.test(o.name)
        ? 'database-url'
        : /(REDIS|BROKER|CACHE|CELERY_RESULT_BACKEND).*URL$/i.test(o.name) || /^rediss?:\/\//i.test(value)
          ? 'redis-url'
          : undefined;
      if (format !== undefined && target) {
        for (const p of checkValue(value, format, `${o.name} in option_settings`, target))
          findings.push(at(p, o.file, o.line));
      }
    }
  }
  return findings;
}
