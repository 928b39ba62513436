import type { Target } from '../config/schema.js';
import type { DockerrunSummary } from './container-rules.js';
import type { OptionSetting } from './ebextensions.js';
import { at, type Finding } from './finding.js';
import { ENVIRONMENT } from './option-rules.js';

/** Rules on the Python platform (WSGIPath with a Procfile), the health check path and HTTPS redirects, and the bundle against the target's platform. */

export function wsgiFindings(files: Record<string, string>, options: OptionSetting[]): Finding[] {
  if (!('Procfile' in files)) return [];
  return options
    .filter((o) => o.namespace === 'aws:elasticbeanstalk:container:python' && o.name === 'WSGIPath')
    .map((o) =>
      at(
        {
          ruleId: 'wsgipath-with-procfile',
          severity: 'error',
          message:
            'WSGIPath is set while a Procfile exists: EB ignores it (the Procfile decides how the app starts), so the setting misleads whoever reads it',
          fix: 'Remove the aws:elasticbeanstalk:container:python WSGIPath/NumProcesses/NumThreads settings and keep the Procfile.',
        },
        o.file,
        o.line,
      ),
    );
}

function healthPath(o: OptionSetting): string | undefined {
  const direct =
    (o.namespace === 'aws:elasticbeanstalk:application' && o.name === 'Application Healthcheck URL') ||
    (o.namespace === 'aws:elasticbeanstalk:environment:process:default' && o.name === 'HealthCheckPath') ||
    (o.namespace === 'aws:elb:healthcheck' && o.name === 'Target');
  if (!direct || o.value.trim() === '') return undefined;
  // "HTTP:80/health" and "/health" both name /health.
  const path = o.value.trim().replace(/^[A-Za-z]+:\d+/, '');
  return path.startsWith('/') ? path : `/${path}`;
}

function truthy(value: string | undefined): boolean {
  return /^(true|yes|on|1)$/i.test((value ?? '').trim());
}

export function healthCheckFindings(options: OptionSetting[], target?: Target): Finding[] {
  const findings: Finding[] = [];
  const set = options.filter((o) => healthPath(o) !== undefined);
  if (set.length === 0) {
    findings.push(
      at({
        ruleId: 'health-check-path-missing',
        severity: 'warning',
        message:
          'no health check path is set: EB checks "/", which a Django app often answers with 400 (ALLOWED_HOSTS) or a redirect, so healthy instances look unhealthy',
        fix: `Set aws:elasticbeanstalk:environment:process:default HealthCheckPath (load-balanced) or aws:elasticbeanstalk:application "Application Healthcheck URL" to ${target?.health.path ?? 'a path that returns 200 without auth or redirects'}.`,
      }),
    );
  } else if (target) {
    for (const o of set) {
      if (healthPath(o) !== target.health.path) {
        findings.push(
          at(
            {
              ruleId: 'health-check-path-mismatch',
              severity: 'warning',
              message: `${o.name} points EB at a different path than health.path in ebship.yml (${target.health.path})`,
              fix: 'Use one path in both places.',
            },
            o.file,
            o.line,
          ),
        );
      }
    }
  }
  const env = new Map<string, { value: string; file: string; line?: number }>();
  for (const [name, value] of Object.entries(target?.environmentVariables ?? {}))
    env.set(name, { value, file: 'ebship.yml' });
  for (const o of options.filter((x) => x.namespace === ENVIRONMENT))
    env.set(o.name, { value: o.value, file: o.file, line: o.line });
  const redirect = [...env].find(([name, v]) => /SECURE_SSL_REDIRECT$/i.test(name) && truthy(v.value));
  const exempt = [...env.keys()].some((name) => /HEALTH_?CHECK|SECURE_REDIRECT_EXEMPT/i.test(name));
  if (redirect && !exempt) {
    findings.push(
      at(
        {
          ruleId: 'https-redirect-health-check',
          severity: 'warning',
          message: `${redirect[0]} redirects every HTTP request to HTTPS, including EB's health check, which speaks plain HTTP and counts the 301 as a failure`,
          fix: 'Exempt the health check path (Django SECURE_REDIRECT_EXEMPT, or an EB_HEALTHCHECK switch the settings read), or terminate HTTPS at the load balancer and trust X-Forwarded-Proto.',
        },
        redirect[1].file,
        redirect[1].line,
      ),
    );
  }
  return findings;
}

export function nginxRedirectFindings(file: string, text: string): Finding[] {
  if (/ELB-HealthChecker/i.test(text)) return [];
  const lines = text.split('\n');
  const index = lines.findIndex(
    (l) => !l.trim().startsWith('#') && /\breturn\s+30[1278]\s+https:|\brewrite\s+\S+\s+https:\/\//.test(l),
  );
  if (index < 0) return [];
  return [
    at(
      {
        ruleId: 'https-redirect-health-check',
        severity: 'error',
        message:
          "nginx redirects all HTTP to HTTPS, including EB's health checker: every instance is marked unhealthy and the deploy never turns green",
        fix: 'Skip the redirect for the health checker: if ($http_user_agent !~ "ELB-HealthChecker") { return 301 https://$host$request_uri; }',
      },
      file,
      index + 1,
    ),
  ];
}

export function platformFindings(
  dockerrun: DockerrunSummary | undefined,
  hasCompose: boolean,
  target?: Target,
): Finding[] {
  if (!target) return [];
  const mismatch = (file: string, message: string, fix: string) =>
    at({ ruleId: 'bundle-platform-mismatch', severity: 'error', message, fix }, file);
  if (target.platform === 'ecs') {
    if (hasCompose && dockerrun?.version !== 2)
      return [
        mismatch(
          'docker-compose.yml',
          'the target is on the ECS platform, which ignores docker-compose.yml and needs Dockerrun.aws.json v2',
          'Remove docker-compose.yml and describe the containers in ebship.yml (ebship renders Dockerrun v2), or set platform: docker.',
        ),
      ];
    if (dockerrun && dockerrun.version !== 2)
      return [
        mismatch(
          'Dockerrun.aws.json',
          `the target is on the ECS platform, which needs AWSEBDockerrunVersion 2 (found ${dockerrun.version ?? 'none'})`,
          'Set "AWSEBDockerrunVersion": 2 with containerDefinitions.',
        ),
      ];
  } else if (dockerrun?.version === 2) {
    return [
      mismatch(
        'Dockerrun.aws.json',
        'Dockerrun.aws.json v2 is for the ECS platform; the target is on the Docker platform, which refuses it',
        'Use docker-compose.yml (ebship renders it from ebship.yml), or set platform: ecs.',
      ),
    ];
  }
  return [];
}
