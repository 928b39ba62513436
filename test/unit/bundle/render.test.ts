import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BundleInvalid } from '../../../lib/bundle/errors.js';
import { type BundleInput, renderBundle } from '../../../lib/bundle/render.js';
import { getTarget, loadConfig } from '../../../lib/config/load.js';
import type { EbshipConfig, Target } from '../../../lib/config/schema.js';

const CONFIG_PATH = fileURLToPath(new URL('../../../ebship.yml', import.meta.url));
const DIGEST = 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
const ANTENNA_IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/antenna-backend@${DIGEST}`;
const TREASURY_IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/treasury-plane-api@${DIGEST}`;
const AWSCLI_IMAGE =
  '123456789012.dkr.ecr.us-east-1.amazonaws.com/antenna-awscli@sha256:4b2c2d1f0e3a5b6c7d8e9f00112233445566778899aabbccddeeff0011223344';

const arn = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbC123`;

let config: EbshipConfig;
beforeAll(() => {
  config = loadConfig(CONFIG_PATH);
});

function antennaInput(overrides: Partial<BundleInput> = {}): BundleInput {
  const target = getTarget(config, 'antenna-prod');
  return {
    target,
    imageUri: ANTENNA_IMAGE,
    versionLabel: 'v1.4.2-9f86d081',
    secretArns: Object.fromEntries(Object.entries(target.secrets).map(([k, s]) => [k, arn(s.secretId)])),
    ...overrides,
  };
}

function treasuryInput(overrides: Partial<BundleInput> = {}): BundleInput {
  const target = getTarget(config, 'treasury-plane-dev');
  return {
    target,
    imageUri: TREASURY_IMAGE,
    versionLabel: 'main-abc1234-9f86d081',
    secretArns: Object.fromEntries(Object.entries(target.secrets).map(([k, s]) => [k, arn(s.secretId)])),
    ...overrides,
  };
}

interface EcsContainerDef {
  name: string;
  image: string;
  essential: boolean;
  memory?: number;
  command?: string[];
  portMappings?: { hostPort: number; containerPort: number }[];
  environment?: { name: string; value: string }[];
  dependsOn?: { containerName: string; condition: string }[];
}

function dockerrun(files: Record<string, string>): {
  AWSEBDockerrunVersion: number;
  containerDefinitions: EcsContainerDef[];
} {
  const text = files['Dockerrun.aws.json'];
  if (text === undefined) throw new Error('no Dockerrun.aws.json in the bundle');
  return JSON.parse(text);
}

function optionSettings(files: Record<string, string>): Record<string, Record<string, string>> {
  const text = files['.ebextensions/00-ebship.config'];
  if (text === undefined) throw new Error('no .ebextensions/00-ebship.config in the bundle');
  return parse(text).option_settings;
}

function container(defs: EcsContainerDef[], name: string): EcsContainerDef {
  const def = defs.find((d) => d.name === name);
  if (!def) throw new Error(`no container ${name}`);
  return def;
}

describe('renderBundle for the ECS platform (antenna-prod)', () => {
  it('writes a Dockerrun v2 and the ebship config, nothing else', () => {
    // Act
    const files = renderBundle(antennaInput());

    // Assert
    expect(Object.keys(files)).toEqual(['.ebextensions/00-ebship.config', 'Dockerrun.aws.json']);
    expect(dockerrun(files).AWSEBDockerrunVersion).toBe(2);
  });

  it('maps host port 80 to the django container port 5000 and pins the pushed digest', () => {
    // Act
    const defs = dockerrun(renderBundle(antennaInput())).containerDefinitions;

    // Assert
    const django = container(defs, 'django');
    expect(django.portMappings).toEqual([{ hostPort: 80, containerPort: 5000 }]);
    expect(django.image).toBe(ANTENNA_IMAGE);
    expect(django.essential).toBe(true);
    expect(django.memory).toBe(1536);
    expect(django.command).toEqual(['/start']);
  });

  it('runs every app container on the pushed image and leaves no placeholder behind', () => {
    // Act
    const files = renderBundle(antennaInput());

    // Assert
    const defs = dockerrun(files).containerDefinitions;
    for (const name of ['django', 'celeryworker', 'celerybeat', 'flower']) {
      expect(container(defs, name).image).toBe(ANTENNA_IMAGE);
    }
    expect(Object.values(files).join('\n')).not.toContain('{{image}}');
  });

  it('keeps the awscli helper on its pinned digest', () => {
    // Act
    const defs = dockerrun(renderBundle(antennaInput())).containerDefinitions;

    // Assert
    const awscli = container(defs, 'awscli');
    expect(awscli.image).toBe(AWSCLI_IMAGE);
    expect(awscli.essential).toBe(false);
  });

  it('gives the celery containers no ports', () => {
    // Act
    const defs = dockerrun(renderBundle(antennaInput())).containerDefinitions;

    // Assert
    expect(container(defs, 'celeryworker').portMappings).toBeUndefined();
    expect(container(defs, 'celerybeat').portMappings).toBeUndefined();
    expect(container(defs, 'flower').portMappings).toEqual([{ hostPort: 5555, containerPort: 5555 }]);
  });

  it('puts target-wide variables in option settings, not in the Dockerrun', () => {
    // Act
    const files = renderBundle(antennaInput());

    // Assert
    const env = optionSettings(files)['aws:elasticbeanstalk:application:environment'];
    expect(env).toMatchObject({
      DJANGO_SETTINGS_MODULE: 'config.settings.production',
      DJANGO_SECURE_SSL_REDIRECT: 'True',
      EB_HEALTHCHECK: '1',
      EBSHIP_VERSION_LABEL: 'v1.4.2-9f86d081',
    });
    expect(files['Dockerrun.aws.json']).not.toContain('DJANGO_SETTINGS_MODULE');
    for (const def of dockerrun(files).containerDefinitions) expect(def.environment).toBeUndefined();
  });

  it('renders per-container environment and dependsOn in ECS form', () => {
    // Arrange
    const base = getTarget(config, 'antenna-prod');
    const target: Target = {
      ...base,
      containers: base.containers.map((c) =>
        c.name === 'celeryworker'
          ? { ...c, dependsOn: ['django'], environment: { Z_LAST: 'z', CELERY_QUEUES: 'default,mail' } }
          : c,
      ),
    };

    // Act
    const defs = dockerrun(renderBundle(antennaInput({ target }))).containerDefinitions;

    // Assert
    const worker = container(defs, 'celeryworker');
    expect(worker.dependsOn).toEqual([{ containerName: 'django', condition: 'START' }]);
    expect(worker.environment).toEqual([
      { name: 'CELERY_QUEUES', value: 'default,mail' },
      { name: 'Z_LAST', value: 'z' },
    ]);
  });
});

describe('renderBundle for the Docker platform (treasury-plane-dev)', () => {
  it('writes a compose file that parses, maps 80:8000 and pins the pushed digest', () => {
    // Act
    const files = renderBundle(treasuryInput());

    // Assert
    expect(Object.keys(files)).toEqual(['.ebextensions/00-ebship.config', 'docker-compose.yml']);
    const compose = parse(files['docker-compose.yml'] ?? '');
    const web = compose.services.web;
    expect(web.ports).toEqual(['80:8000']);
    expect(web.image).toBe(TREASURY_IMAGE);
    expect(web.command).toContain('--access-logfile=-');
  });

  it('hands EB environment properties (and secrets) to the container through .env', () => {
    // Act
    const compose = parse(renderBundle(treasuryInput())['docker-compose.yml'] ?? '');

    // Assert
    expect(compose.services.web.env_file).toEqual(['.env']);
    expect(compose.services.web.restart).toBe('unless-stopped');
    expect(compose.services.web.logging.driver).toBe('json-file');
  });

  it('escapes "$" so compose does not interpolate values', () => {
    // Arrange
    const base = getTarget(config, 'treasury-plane-dev');
    const target: Target = {
      ...base,
      containers: base.containers.map((c) => ({ ...c, environment: { GREETING: 'costs $5' } })),
    };

    // Act
    const compose = parse(renderBundle(treasuryInput({ target }))['docker-compose.yml'] ?? '');

    // Assert
    expect(compose.services.web.environment).toEqual({ GREETING: 'costs $$5' });
  });
});

describe('.ebextensions/00-ebship.config', () => {
  it('references every secret by ARN in environmentsecrets and nowhere else', () => {
    // Arrange
    const input = antennaInput();

    // Act
    const files = renderBundle(input);

    // Assert
    const options = optionSettings(files);
    expect(options['aws:elasticbeanstalk:application:environmentsecrets']).toEqual(input.secretArns);
    const env = options['aws:elasticbeanstalk:application:environment'] ?? {};
    for (const name of Object.keys(input.secretArns)) expect(env).not.toHaveProperty(name);
    const dockerrunText = files['Dockerrun.aws.json'] ?? '';
    for (const [name, secretArn] of Object.entries(input.secretArns)) {
      expect(dockerrunText).not.toContain(name);
      expect(dockerrunText).not.toContain(secretArn);
    }
  });

  it('refuses a secret reference that is not an ARN, without echoing it', () => {
    // Arrange
    const leaked = 'postgres://app:hunter2@db.internal:5432/antenna';
    const input = antennaInput();
    input.secretArns = { ...input.secretArns, DATABASE_URL: leaked };

    // Act
    const render = () => renderBundle(input);

    // Assert
    expect(render).toThrow(BundleInvalid);
    expect(render).toThrow(/DATABASE_URL is not a Secrets Manager or SSM parameter ARN/);
    expect(render).not.toThrow(/hunter2/);
  });

  it('refuses to build when a configured secret has no ARN', () => {
    // Arrange
    const input = antennaInput();
    const { SENTRY_DSN: _dropped, ...rest } = input.secretArns;
    input.secretArns = rest;

    // Act / Assert
    expect(() => renderBundle(input)).toThrow(/no secret ARN for SENTRY_DSN/);
  });

  it('sets the health check path for both load balancer kinds, enhanced health and log streaming', () => {
    // Act
    const options = optionSettings(renderBundle(antennaInput()));

    // Assert
    expect(options['aws:elasticbeanstalk:application']).toEqual({
      'Application Healthcheck URL': '/api/v2/',
    });
    expect(options['aws:elasticbeanstalk:environment:process:default']).toEqual({
      HealthCheckPath: '/api/v2/',
    });
    expect(options['aws:elasticbeanstalk:healthreporting:system']).toEqual({ SystemType: 'enhanced' });
    expect(options['aws:elasticbeanstalk:cloudwatch:logs']).toEqual({
      StreamLogs: 'true',
      DeleteOnTerminate: 'false',
      RetentionInDays: '30',
    });
  });

  it('leaves the deployment policy alone and says so', () => {
    // Act
    const text = renderBundle(antennaInput())['.ebextensions/00-ebship.config'] ?? '';

    // Assert
    expect(optionSettings({ '.ebextensions/00-ebship.config': text })).not.toHaveProperty(
      'aws:elasticbeanstalk:command',
    );
    expect(text).toMatch(/^# Generated by ebship for version v1\.4\.2-9f86d081/);
    expect(text).toContain('DeploymentPolicy is deliberately not set');
  });

  it('keeps string values strings ("True", "1") for EB', () => {
    // Act
    const text = renderBundle(antennaInput())['.ebextensions/00-ebship.config'] ?? '';

    // Assert
    expect(text).toContain('DJANGO_SECURE_SSL_REDIRECT: "True"');
    expect(text).toContain('EB_HEALTHCHECK: "1"');
  });
});

describe('include files', () => {
  it('adds the user files as they are', () => {
    // Arrange
    const includeFiles = {
      '.ebextensions/50-app.config': 'option_settings: {}\n',
      '.platform/hooks/postdeploy/01-warm.sh': '#!/bin/sh\ncurl -fsS localhost/api/v2/\n',
    };

    // Act
    const files = renderBundle(antennaInput({ includeFiles }));

    // Assert
    expect(files['.ebextensions/50-app.config']).toBe(includeFiles['.ebextensions/50-app.config']);
    expect(files['.platform/hooks/postdeploy/01-warm.sh']).toBe(
      includeFiles['.platform/hooks/postdeploy/01-warm.sh'],
    );
  });

  it('refuses a user file that would replace a generated one, naming it', () => {
    // Arrange
    const includeFiles = { '.ebextensions/00-ebship.config': 'option_settings: {}\n' };

    // Act / Assert
    expect(() => renderBundle(antennaInput({ includeFiles }))).toThrow(
      /include file "\.ebextensions\/00-ebship\.config" would replace the file ebship generates/,
    );
  });

  it('refuses paths outside .ebextensions, .platform and Procfile, and paths that climb out', () => {
    // Act / Assert
    expect(() => renderBundle(antennaInput({ includeFiles: { 'Dockerrun.aws.json': '{}' } }))).toThrow(
      BundleInvalid,
    );
    expect(() => renderBundle(antennaInput({ includeFiles: { '.platform/../../etc/passwd': 'x' } }))).toThrow(
      /climbs out of the bundle/,
    );
  });
});

describe('determinism', () => {
  it('renders identical files, in the same order, from the same input', () => {
    // Act
    const first = renderBundle(antennaInput());
    const second = renderBundle(antennaInput());

    // Assert
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
  });

  it('does not depend on the order secrets and variables were written in', () => {
    // Arrange
    const input = antennaInput();
    const reversed: BundleInput = {
      ...input,
      target: {
        ...input.target,
        environmentVariables: Object.fromEntries(Object.entries(input.target.environmentVariables).reverse()),
      },
      secretArns: Object.fromEntries(Object.entries(input.secretArns).reverse()),
    };

    // Act / Assert
    expect(renderBundle(reversed)).toEqual(renderBundle(input));
    expect(JSON.stringify(renderBundle(reversed))).toBe(JSON.stringify(renderBundle(input)));
  });
});
