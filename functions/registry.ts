import type { Context } from 'aws-lambda';
import { handler as abortUpdate } from './abort-update.js';
import { handler as acquireLock } from './acquire-lock.js';
import { handler as buildBundle } from './build-bundle.js';
import { handler as checkChecks } from './check-checks.js';
import { handler as checkHealth } from './check-health.js';
import { handler as checkMigration } from './check-migration.js';
import { handler as checkRelease } from './check-release.js';
import { handler as createAppVersion } from './create-app-version.js';
import { handler as deployVersion } from './deploy-version.js';
import { handler as logTail } from './log-tail.js';
import { handler as notify } from './notify.js';
import { handler as recordOutcome } from './record-outcome.js';
import { handler as registerWatch } from './register-watch.js';
import { handler as requestApproval } from './request-approval.js';
import { handler as resolveRelease } from './resolve-release.js';
import { handler as rollBack } from './roll-back.js';
import { handler as startChecks } from './start-checks.js';
import { handler as startMigrationCheck } from './start-migration-check.js';
import { handler as startRelease } from './start-release.js';
import { handler as validateSecrets } from './validate-secrets.js';

type Handler = (event: unknown, context?: Context) => Promise<unknown>;

/**
 * Each ASL placeholder and the handler behind it. For local runs only (workflow tests, the stand-in):
 * in AWS, serverless.yml maps the same names to the deployed functions.
 */
export const handlersBySubstitution: Record<string, Handler> = {
  ResolveReleaseArn: resolveRelease,
  RequestApprovalArn: requestApproval,
  AcquireLockArn: acquireLock,
  ValidateSecretsArn: validateSecrets,
  BuildBundleArn: buildBundle,
  CreateAppVersionArn: createAppVersion,
  StartReleaseArn: startRelease,
  CheckReleaseArn: checkRelease,
  DeployVersionArn: deployVersion,
  CheckHealthArn: checkHealth,
  RegisterWatchArn: registerWatch,
  AbortUpdateArn: abortUpdate,
  StartMigrationCheckArn: startMigrationCheck,
  CheckMigrationArn: checkMigration,
  StartChecksArn: startChecks,
  CheckChecksArn: checkChecks,
  RollBackArn: rollBack,
  RecordOutcomeArn: recordOutcome,
  NotifyArn: notify,
  LogTailArn: logTail,
};

/**
 * Task state name → local handler, for aws-local-stepfunctions' taskResourceLocalHandlers.
 * Resources are the fake ARNs of lib/workflow/definition.ts (`...:function:ebship-local-<Name>`).
 * Each call gets a fresh Lambda-like context so log lines carry a request id.
 */
export function localTaskHandlers(
  definition: { States: Record<string, Record<string, unknown>> },
  /** The handler behind each placeholder; test/e2e/packaged.test.ts passes the packaged bundles'. */
  handlers: Record<string, Handler> = handlersBySubstitution,
): Record<string, (input: unknown) => Promise<unknown>> {
  const out: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const [stateName, state] of Object.entries(definition.States)) {
    if (state.Type !== 'Task' || typeof state.Resource !== 'string') continue;
    // The Lambda service integration (`arn:aws:states:::lambda:invoke[.waitForTaskToken]`) names the
    // function in Parameters.FunctionName and hands it Parameters.Payload.
    const integration = state.Resource.startsWith('arn:aws:states:::lambda:invoke');
    const functionArn = integration ? functionNameOf(state) : state.Resource;
    const name = `${functionArn.split(':function:ebship-local-')[1] ?? ''}Arn`;
    const handler = handlers[name];
    if (!handler)
      throw new Error(
        `state ${stateName} uses ${functionArn}, which no handler in functions/registry.ts serves`,
      );
    out[stateName] = integration
      ? (input) => handler((input as { Payload?: unknown } | null)?.Payload, localContext(name))
      : (input) => handler(input, localContext(name));
  }
  return out;
}

function functionNameOf(state: Record<string, unknown>): string {
  const name = (state.Parameters as { FunctionName?: unknown } | undefined)?.FunctionName;
  return typeof name === 'string' ? name : '';
}

let invocations = 0;
function localContext(name: string): Context {
  invocations += 1;
  const functionName = `ebship-local-${name.replace(/Arn$/, '')}`;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: `local-${invocations}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
