import type { Clock } from '../clock.js';
import { type JsonObject, ServiceError, str } from '../protocol.js';
import type { EbEvent, Environment } from './eb-model.js';
import type { S3Store } from './s3.js';

/**
 * EB's tail logs (EB API reference, RequestEnvironmentInfo / RetrieveEnvironmentInfo, InfoType
 * `tail`): a request asks every instance for the last 100 lines of each of its log files; each
 * instance uploads them to EB's S3 bucket a few seconds later; RetrieveEnvironmentInfo then lists,
 * per instance, an EnvironmentInfoDescription whose Message is a presigned S3 URL, the files
 * being deleted after 15 minutes. The stand-in writes the text to its own S3 and hands out a
 * path-style URL to it.
 *
 * What the app printed follows the environment's story, read from its events: a version under
 * which health went Severe with HTTP 5xx causes printed a Django traceback (the app cannot start);
 * one whose services stopped ("not running") printed a Celery worker that cannot reach its broker
 * over TLS (seed 004: `ssl.SSLCertVerificationError`); the others, gunicorn serving requests. Each
 * version's container keeps its own log file, as on the instances, so after a rollback the failed
 * version's file is still in the tail next to the good one's.
 */
export const TAIL_DELAY_SECONDS = 10;
const KEEP_SECONDS = 15 * 60;
const TAIL_LINES = 100;

interface Sample {
  instanceId: string;
  at: number;
  bucket: string;
  key: string;
}

export class EbLogs {
  private readonly samples = new Map<string, Sample[]>();

  constructor(
    private readonly clock: Clock,
    private readonly s3: S3Store,
    private readonly region: string,
    private readonly account: string,
  ) {}

  handle(action: string, input: JsonObject, env: Environment, events: readonly EbEvent[]): unknown {
    const infoType = str(input, 'InfoType');
    if (infoType !== 'tail' && infoType !== 'bundle') {
      throw new ServiceError('InvalidParameterValue', `Invalid InfoType: ${infoType ?? '(none)'}`);
    }
    if (infoType === 'bundle')
      throw new ServiceError('InvalidParameterValue', 'The stand-in serves tail logs only.');
    if (action === 'RequestEnvironmentInfo') {
      this.request(env, events);
      return {};
    }
    const now = this.clock.now();
    const list = (this.samples.get(env.id) ?? []).filter(
      (s) => s.at <= now && now - s.at < KEEP_SECONDS * 1000,
    );
    return {
      EnvironmentInfo: list.map((s) => ({
        InfoType: 'tail',
        Ec2InstanceId: s.instanceId,
        SampleTimestamp: new Date(s.at),
        Message: `${s3Endpoint()}/${s.bucket}/${s.key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=${KEEP_SECONDS}&X-Amz-Signature=standin`,
      })),
    };
  }

  /** The tail an instance would upload now (also for tests). */
  tailOf(env: Environment, instanceId: string, events: readonly EbEvent[], at: number): string {
    return this.filesOf(env, instanceId, events, at)
      .map(
        ([path, lines]) =>
          `${'-'.repeat(40)}\n${path}\n${'-'.repeat(40)}\n${lines.slice(-TAIL_LINES).join('\n')}\n`,
      )
      .join('\n');
  }

  /**
   * An instance's log files and their lines at `at`: EB's engine log, and each version's container
   * output. Also what it streams to CloudWatch Logs (cloudwatch-logs.ts).
   */
  filesOf(
    env: Environment,
    instanceId: string,
    events: readonly EbEvent[],
    at: number,
  ): [path: string, lines: string[]][] {
    const mine = events
      .filter((e) => e.environment === env.spec.environment && e.date.getTime() <= at)
      .sort((a, b) => a.seq - b.seq);
    const versions: { label: string; trouble?: 'django' | 'celery' }[] = [];
    for (const e of mine) {
      if (e.message === 'Environment update is starting.' && e.versionLabel) {
        versions.push({ label: e.versionLabel });
      } else if (/health has transitioned from \S+ to (Severe|Degraded)/.test(e.message)) {
        const current = versions.at(-1);
        if (current)
          current.trouble = /not running/i.test(e.message) ? 'celery' : (current.trouble ?? 'django');
      }
    }
    const running = env.instances.find((i) => i.id === instanceId)?.versionLabel ?? env.versionLabel;
    if (!versions.some((v) => v.label === running)) versions.unshift({ label: running });
    // Unhealthy now without a transition (Red before and after a rollback): the causes say why.
    const now = versions.findLast((v) => v.label === running);
    if (now && (env.color === 'Red' || env.color === 'Yellow')) {
      now.trouble = env.causes.some((c) => /not running/i.test(c)) ? 'celery' : (now.trouble ?? 'django');
    }
    const stamp = new Date(at).toISOString().replace('T', ' ').slice(0, 19);
    const files: [string, string[]][] = [
      [
        '/var/log/eb-engine.log',
        versions.map((v) => `${stamp} [INFO] Executing instruction: Deploy application version ${v.label}`),
      ],
    ];
    for (const v of versions) {
      files.push([
        `/var/log/containers/django-${v.label}-stdouterr.log`,
        appOutput(v.label, v.trouble, stamp),
      ]);
    }
    return files;
  }

  private request(env: Environment, events: readonly EbEvent[]): void {
    const at = this.clock.now() + TAIL_DELAY_SECONDS * 1000;
    const bucket = `elasticbeanstalk-${this.region}-${this.account}`;
    this.s3.createBucket(bucket);
    const list = this.samples.get(env.id) ?? [];
    for (const i of env.instances) {
      const key = `resources/environments/logs/tail/${env.id}/${i.id}/${at}.txt`;
      this.s3.put(bucket, key, Buffer.from(this.tailOf(env, i.id, events, at)), 'text/plain');
      list.push({ instanceId: i.id, at, bucket, key });
    }
    this.samples.set(env.id, list);
  }
}

function appOutput(label: string, trouble: 'django' | 'celery' | undefined, stamp: string): string[] {
  const start = [
    `[${stamp} +0000] [1] [INFO] Starting gunicorn 22.0.0 (${label})`,
    `[${stamp} +0000] [1] [INFO] Listening at: http://0.0.0.0:5000 (1)`,
  ];
  if (trouble === 'django') {
    return [
      ...start,
      `[${stamp} +0000] [7] [ERROR] Exception in worker process`,
      'Traceback (most recent call last):',
      '  File "/usr/local/lib/python3.12/site-packages/gunicorn/arbiter.py", line 608, in spawn_worker',
      '    worker.init_process()',
      '  File "/app/config/wsgi.py", line 16, in <module>',
      '    application = get_wsgi_application()',
      '  File "/usr/local/lib/python3.12/site-packages/django/core/wsgi.py", line 12, in get_wsgi_application',
      '    django.setup(set_prefix=False)',
      '  File "/app/antenna/settings/production.py", line 41, in <module>',
      "    DATABASES = {'default': env.db('DATABASE_URL')}",
      'django.core.exceptions.ImproperlyConfigured: Set the DATABASE_URL environment variable',
      `[${stamp} +0000] [7] [INFO] Worker exiting (pid: 7)`,
      `[${stamp} +0000] [1] [ERROR] Reason: Worker failed to boot.`,
    ];
  }
  if (trouble === 'celery') {
    return [
      `[${stamp},000: INFO/MainProcess] celery@antenna ready. (${label})`,
      `[${stamp},000: ERROR/MainProcess] consumer: Cannot connect to rediss://:s3cr3t-broker-pass@antenna-cache.abc123.use1.cache.amazonaws.com:6379/0: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006).`,
      'Traceback (most recent call last):',
      '  File "/usr/local/lib/python3.12/site-packages/kombu/connection.py", line 472, in _reraise_as_library_errors',
      '    yield',
      '  File "/usr/local/lib/python3.12/ssl.py", line 1342, in do_handshake',
      '    self._sslobj.do_handshake()',
      'ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)',
      `[${stamp},000: CRITICAL/MainProcess] Unrecoverable error: OperationalError('[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed')`,
    ];
  }
  return [
    ...start,
    `10.0.1.17 - - [${stamp} +0000] "GET /api/v2/ HTTP/1.1" 200 512 "-" "ELB-HealthChecker/2.0"`,
  ];
}

/** Where the handlers reach the stand-in's S3 (they run in its process, with its endpoint set). */
function s3Endpoint(): string {
  return (process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566').replace(
    /\/$/,
    '',
  );
}
