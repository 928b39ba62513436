import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { type Clock, createClock, DEFAULT_SCALE, installedClock } from './clock.js';
import { type FaultService, faultError } from './faults.js';
import {
  type JsonObject,
  jsonError,
  jsonReply,
  parseQueryForm,
  queryErrorReply,
  queryReply,
  readBody,
  requestId,
  ServiceError,
} from './protocol.js';
import { CloudWatchLogs } from './services/cloudwatch-logs.js';
import { EbLogs } from './services/eb-logs.js';
import { EB_NAMESPACE, type EbOptions } from './services/elastic-beanstalk.js';
import { IAM_NAMESPACE } from './services/iam.js';
import { s3ErrorReply, s3Operation } from './services/s3.js';
import { SNS_NAMESPACE } from './services/sns.js';
import type { TaskHandlerResolver } from './services/step-functions.js';
import { STS_NAMESPACE } from './services/sts.js';
import { World } from './world.js';

/**
 * The local AWS stand-in: one HTTP server on 127.0.0.1 that the unchanged SDK v3 clients reach
 * through AWS_ENDPOINT_URL. Requests are routed by protocol: JSON protocols by X-Amz-Target, the
 * query protocol (form POST with Action and Version) by API version, everything else as S3 REST
 * (path-style). DynamoDB is proxied to an in-process dynalite.
 */

export interface StandinOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Simulated-time scale (default 240). Ignored when `clock` is given or a scaled clock is installed. */
  scale?: number;
  clock?: Clock;
  eb?: Partial<EbOptions>;
  /** Resolves the local handler of each Task state, for executions. */
  taskHandlers?: TaskHandlerResolver;
  region?: string;
  /** Answers the stand-in's own control requests (`/_standin/...`, serve mode). */
  control?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

export interface Standin {
  endpoint: string;
  world: World;
  close(): Promise<void>;
}

type JsonService = {
  service: FaultService;
  version: '1.0' | '1.1';
  handle: (op: string, input: JsonObject) => unknown;
};

export async function startStandin(options: StandinOptions = {}): Promise<Standin> {
  const clock = options.clock ?? installedClock() ?? createClock(options.scale ?? DEFAULT_SCALE);
  const world = new World(clock, {
    eb: options.eb,
    taskHandlers: options.taskHandlers,
    region: options.region,
  });
  const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await listen(dynamo, 0);
  const dynamoPort = (dynamo.address() as AddressInfo).port;

  // EB's instance log streaming (standin/services/cloudwatch-logs.ts): the same lines as its tail logs.
  const cloudWatchLogs = new CloudWatchLogs(clock, {
    environment: (name) => world.eb.environments.get(name),
    events: () => world.eb.events,
    logs: () => {
      world.eb.logs ??= new EbLogs(clock, world.s3, world.region, world.account);
      return world.eb.logs;
    },
  });
  const jsonServices: Record<string, JsonService> = {
    AmazonEC2ContainerRegistry_V20150921: {
      service: 'ecr',
      version: '1.1',
      handle: (op, i) => world.ecr.handle(op, i),
    },
    secretsmanager: {
      service: 'secretsmanager',
      version: '1.1',
      handle: (op, i) => world.secrets.handle(op, i),
    },
    AmazonSSM: { service: 'ssm', version: '1.1', handle: (op, i) => world.ssm.handle(op, i) },
    AWSStepFunctions: { service: 'states', version: '1.0', handle: (op, i) => world.sfn.handle(op, i) },
    // CloudWatch: the SDK speaks AWS JSON 1.0 to it (standin/services/cloudwatch.ts).
    GraniteServiceVersion20100801: {
      service: 'cloudwatch',
      version: '1.0',
      handle: (op, i) => world.cloudwatch.handle(op, i),
    },
    Logs_20140328: { service: 'logs', version: '1.1', handle: (op, i) => cloudWatchLogs.handle(op, i) },
  };
  const queryServices: Record<
    string,
    {
      service: FaultService;
      namespace: string;
      handle: (action: string, i: JsonObject, request: string) => unknown;
    }
  > = {
    '2010-12-01': {
      service: 'elasticbeanstalk',
      namespace: EB_NAMESPACE,
      handle: (a, i, r) => world.eb.handle(a, i, r),
    },
    '2010-03-31': { service: 'sns', namespace: SNS_NAMESPACE, handle: (a, i) => world.sns.handle(a, i) },
    '2010-05-08': { service: 'iam', namespace: IAM_NAMESPACE, handle: (a, i) => world.iam.handle(a, i) },
    '2011-06-15': { service: 'sts', namespace: STS_NAMESPACE, handle: (a) => world.sts.handle(a) },
  };

  /**
   * Runs one call through the faults armed for it: an error before (nothing applied), or the call
   * itself followed by a lost reply or an error after it took effect. Returns what to send, or
   * undefined when the reply is lost.
   */
  const withFaults = async <T>(
    req: IncomingMessage,
    service: FaultService,
    operation: string,
    call: () => Promise<T>,
    asError: (err: ServiceError) => T,
  ): Promise<T | undefined> => {
    const fault = world.faults.onCall(service, operation);
    if (fault && (fault.fault === 'throttle' || fault.fault === 'error-before')) {
      return asError(faultError(service, fault));
    }
    const reply = await call();
    if (fault?.fault === 'error-after') return asError(faultError(service, fault));
    if (fault?.fault === 'reply-lost') {
      // The call took effect; the caller never hears so (a reset connection, or none at all).
      if (!fault.hang) req.socket.destroy();
      return undefined;
    }
    return reply;
  };

  type Reply = { status: number; headers: Record<string, string>; body: Buffer | string };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const send = (reply: Reply | undefined) => {
      if (!reply) return;
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body);
    };
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') {
      const [prefix = '', op = ''] = target.split('.');
      if (prefix === 'DynamoDB_20120810') {
        const body = await readBody(req);
        return send(
          await withFaults<Reply>(
            req,
            'dynamodb',
            op,
            () => proxy(req, body, dynamoPort),
            (err) => jsonReply('1.0', jsonError(err), err.status),
          ),
        );
      }
      const service = jsonServices[prefix];
      const version = service?.version ?? '1.1';
      const body = (await readBody(req)).toString('utf8');
      const call = async (): Promise<Reply> => {
        try {
          if (!service)
            throw new ServiceError('UnknownOperationException', `The stand-in does not serve ${target}`);
          const input = body ? (JSON.parse(body) as JsonObject) : {};
          return jsonReply(version, await service.handle(op, input));
        } catch (err) {
          const e = asServiceError(err);
          return jsonReply(version, jsonError(e), e.status);
        }
      };
      if (!service) return send(await call());
      return send(
        await withFaults(req, service.service, op, call, (err) =>
          jsonReply(version, jsonError(err), err.status),
        ),
      );
    }
    const contentType = String(req.headers['content-type'] ?? '');
    if (
      req.method === 'POST' &&
      contentType.startsWith('application/x-www-form-urlencoded') &&
      isRoot(req.url)
    ) {
      const input = parseQueryForm((await readBody(req)).toString('utf8'));
      const service = queryServices[String(input.Version ?? '')];
      const namespace = service?.namespace ?? EB_NAMESPACE;
      const action = String(input.Action ?? '');
      // The reply's RequestId is the one EB's events for this call carry.
      const request = requestId();
      const call = async (): Promise<Reply> => {
        try {
          if (!service)
            throw new ServiceError(
              'InvalidAction',
              `The stand-in does not serve API version ${String(input.Version)}`,
            );
          return queryReply(namespace, action, await service.handle(action, input, request), request);
        } catch (err) {
          return queryErrorReply(namespace, asServiceError(err), request);
        }
      };
      if (!service) return send(await call());
      return send(
        await withFaults(req, service.service, action, call, (err) => queryErrorReply(namespace, err)),
      );
    }
    // No S3 bucket name can start with "_": the control path cannot shadow a bucket.
    if (options.control && (req.url ?? '').startsWith('/_standin/')) return options.control(req, res);
    const operation = s3Operation(req.method, req.url);
    const reply = await withFaults(
      req,
      's3',
      operation,
      async () => {
        const r = await world.s3.handle(req);
        return { status: r.status, headers: r.headers, body: r.body ?? '' };
      },
      (err) => {
        const r = s3ErrorReply(err, req.method ?? 'GET');
        return { status: r.status, headers: r.headers, body: r.body ?? '' };
      },
    );
    send(reply);
  };

  // Calls being answered: close() lets them finish before it closes dynalite, which throws from a
  // callback (and so crashes the process) when a write reaches its closed database.
  const answering = new Set<Promise<void>>();
  const server = createServer((req, res) => {
    // Every answer is dated on the simulated clock, like everything else the stand-in says: a real
    // Date would look like minutes of clock skew to the SDK, which then retries error answers.
    res.sendDate = false;
    res.setHeader('date', new Date(clock.now()).toUTCString());
    const answer = route(req, res)
      .catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`stand-in error: ${(err as Error).stack ?? String(err)}`);
      })
      .finally(() => answering.delete(answer));
    answering.add(answer);
  });
  await listen(server, options.port ?? 0);
  const port = (server.address() as AddressInfo).port;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    world,
    close: async () => {
      for (const e of world.sfn.executions.values()) if (e.status === 'RUNNING') e.abort();
      // The functions EventBridge invoked (an EB event's ebEvents, a stopped execution's
      // executionEnded) finish against this stand-in, not against the next one on the same port.
      await settledWithin(Promise.all(world.invocations), DRAIN_MS);
      // New connections are refused from here; the calls already under way get their answers.
      const closed = closeServer(server);
      await settledWithin(Promise.all(answering), DRAIN_MS);
      server.closeAllConnections();
      await closed;
      await closeServer(dynamo);
    },
  };
}

function isRoot(url: string | undefined): boolean {
  return (url ?? '/').split('?')[0] === '/';
}

function asServiceError(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ServiceError('InternalFailure', `stand-in failure: ${message}`, 500, 'Receiver');
}

/** Forwards a DynamoDB call to dynalite and buffers its answer (so a fault can replace it). */
function proxy(
  req: IncomingMessage,
  body: Buffer,
  port: number,
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  return new Promise((resolve) => {
    const upstream = request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(answer.headers)) {
            if (typeof v === 'string' && k !== 'date' && k !== 'connection') headers[k] = v;
          }
          resolve({ status: answer.statusCode ?? 500, headers, body: Buffer.concat(chunks) });
        });
      },
    );
    upstream.on('error', (err) => resolve({ status: 500, headers: {}, body: Buffer.from(String(err)) }));
    upstream.end(body);
  });
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

/** Real milliseconds close() waits for each of: the invoked functions, the calls under way (a lost reply that hangs never ends). */
const DRAIN_MS = 5_000;

/** Waits for `work`, or `ms` real milliseconds, whichever comes first. */
async function settledWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Stops accepting connections and closes the idle ones; resolves once the last one has closed. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
