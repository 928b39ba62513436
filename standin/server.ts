import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { type Clock, createClock, DEFAULT_SCALE, installedClock } from './clock.js';
import {
  type JsonObject,
  parseQueryForm,
  readBody,
  ServiceError,
  sendJson,
  sendJsonError,
  sendQueryError,
  sendQueryResult,
} from './protocol.js';
import { EB_NAMESPACE, type EbOptions } from './services/elastic-beanstalk.js';
import { SNS_NAMESPACE } from './services/sns.js';
import type { TaskHandlerResolver } from './services/step-functions.js';
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
}

export interface Standin {
  endpoint: string;
  world: World;
  close(): Promise<void>;
}

type JsonService = { version: '1.0' | '1.1'; handle: (op: string, input: JsonObject) => unknown };

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

  const jsonServices: Record<string, JsonService> = {
    AmazonEC2ContainerRegistry_V20150921: { version: '1.1', handle: (op, i) => world.ecr.handle(op, i) },
    secretsmanager: { version: '1.1', handle: (op, i) => world.secrets.handle(op, i) },
    AmazonSSM: { version: '1.1', handle: (op, i) => world.ssm.handle(op, i) },
    AWSStepFunctions: { version: '1.0', handle: (op, i) => world.sfn.handle(op, i) },
  };
  const queryServices: Record<
    string,
    { namespace: string; handle: (action: string, i: JsonObject) => unknown }
  > = {
    '2010-12-01': { namespace: EB_NAMESPACE, handle: (a, i) => world.eb.handle(a, i) },
    '2010-03-31': { namespace: SNS_NAMESPACE, handle: (a, i) => world.sns.handle(a, i) },
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') {
      const [prefix = '', op = ''] = target.split('.');
      if (prefix === 'DynamoDB_20120810') return proxy(req, res, dynamoPort);
      const service = jsonServices[prefix];
      const version = service?.version ?? '1.1';
      const body = (await readBody(req)).toString('utf8');
      try {
        if (!service)
          throw new ServiceError('UnknownOperationException', `The stand-in does not serve ${target}`);
        const input = body ? (JSON.parse(body) as JsonObject) : {};
        sendJson(res, version, await service.handle(op, input));
      } catch (err) {
        sendJsonError(res, version, asServiceError(err));
      }
      return;
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
      try {
        if (!service)
          throw new ServiceError(
            'InvalidAction',
            `The stand-in does not serve API version ${String(input.Version)}`,
          );
        const action = String(input.Action ?? '');
        sendQueryResult(res, namespace, action, await service.handle(action, input));
      } catch (err) {
        sendQueryError(res, namespace, asServiceError(err));
      }
      return;
    }
    await world.s3.handle(req, res);
  };

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`stand-in error: ${(err as Error).stack ?? String(err)}`);
    });
  });
  await listen(server, options.port ?? 0);
  const port = (server.address() as AddressInfo).port;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    world,
    close: async () => {
      for (const e of world.sfn.executions.values()) if (e.status === 'RUNNING') e.abort();
      await Promise.all([closeServer(server), closeServer(dynamo)]);
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

function proxy(req: IncomingMessage, res: ServerResponse, port: number): void {
  const upstream = request(
    { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 500, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', (err) => {
    if (!res.headersSent) res.writeHead(500);
    res.end(String(err));
  });
  req.pipe(upstream);
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
