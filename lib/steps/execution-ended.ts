import type { EnvironmentDescription } from '@aws-sdk/client-elastic-beanstalk';
import * as v from 'valibot';
import { type Alert, renderAlert, threadIdOf } from '../alerts/compose.js';
import { consoleLinks } from '../alerts/links.js';
import { instanceVersions } from '../alerts/log-tail.js';
import {
  type AlertModel,
  type AlertStep,
  type InstanceVersion,
  SEVERITY,
  WHOLE_STAGE,
} from '../alerts/model.js';
import { publishAlert } from '../alerts/publish.js';
import { dynamo } from '../aws/clients/dynamo.js';
import { eb } from '../aws/clients/eb.js';
import { sns } from '../aws/clients/sns.js';
import { getEnvironment } from '../aws/eb.js';
import { InputInvalid } from '../errors.js';
import { logger } from '../logger.js';
import { parseRequest } from '../release/request.js';
import { config, runtimeEnv } from '../runtime.js';
import { deleteApproval } from '../store/approval.js';
import { type HistoryEntry, listHistory, recordDeployment, releaseLock } from '../store/deployments.js';
import { claimAlert, markAlertSent, releaseNextTurn } from '../store/ownership.js';
import { deleteWatch } from '../store/watch.js';
import { formatDuration } from '../text/duration.js';

/**
 * "Step Functions Execution Status Change" (Step Functions developer guide, "Automating Step
 * Functions event delivery with EventBridge"): the fields ebship reads.
 */
const statusChange = v.object({
  source: v.literal('aws.states'),
  detail: v.object({
    executionArn: v.pipe(v.string(), v.minLength(1)),
    stateMachineArn: v.optional(v.string()),
    name: v.optional(v.string()),
    status: v.string(),
    startDate: v.nullish(v.number()),
    stopDate: v.nullish(v.number()),
    input: v.nullish(v.string()),
  }),
});

export type EndedStatus = 'ABORTED' | 'TIMED_OUT';

export interface Finalised {
  executionArn: string;
  status: string;
  /** Environments whose lock this execution still held and that were released. */
  released: string[];
  /** History entries moved from RUNNING to the execution's end status. */
  finalised: string[];
  alerted: boolean;
}

/**
 * An execution that was stopped (StopExecution, the console) or timed out never reaches
 * RecordOutcome or NotifyOnCall: this does their work. It finalises the history entry (ABORTED or
 * TIMED_OUT), releases the lock and the waiting turn it held, and sends the one alert of the
 * execution, in ebship's format, with where the environment is now: the update may be mid-way.
 */
export async function finishEndedExecution(event: unknown, now = new Date()): Promise<Finalised> {
  const parsed = v.safeParse(statusChange, event);
  if (!parsed.success) {
    throw new InputInvalid(
      'not a Step Functions "Execution Status Change" event; this function is the target of ebship\'s ExecutionEndedRule',
    );
  }
  const { executionArn, status, input, startDate, stopDate } = parsed.output.detail;
  const result: Finalised = { executionArn, status, released: [], finalised: [], alerted: false };
  if (status !== 'ABORTED' && status !== 'TIMED_OUT') return result;

  const table = runtimeEnv().tableName;
  const targets = targetsOf(input);
  const envs: Ended[] = [];
  for (const name of targets) {
    const target = config().targets[name];
    if (!target) continue;
    const key = { application: target.application, environment: target.environment };
    if (await releaseLock(dynamo, table, key, executionArn)) result.released.push(target.environment);
    await releaseNextTurn(dynamo, table, key, executionArn);
    // Stopped while its health watch waited for an EB event: no token of it stays behind.
    await deleteWatch(dynamo, table, key, { executionId: executionArn });
    // Stopped while its promotion waited for approval: nothing waits any more.
    await deleteApproval(dynamo, table, key, { executionId: executionArn });
    const entry = (await listHistory(dynamo, table, key, 50)).find((h) => h.executionId === executionArn);
    if (entry?.outcome === 'RUNNING') {
      await recordDeployment(dynamo, table, {
        ...entry,
        outcome: status,
        reason: `the execution was ${status === 'ABORTED' ? 'stopped' : 'timed out'} before it finished; see the alert`,
        endedAt: now.toISOString(),
        durationSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(entry.startedAt)) / 1000)),
      });
      result.finalised.push(target.environment);
    }
    const environment = await getEnvironment(eb, key).catch((err: Error) => {
      logger.warn('could not read the environment for the alert', { error: err.name });
      return undefined;
    });
    // Stopped mid-update: which instance runs which version (a partial deploy).
    const instances = environment ? await instanceVersions(eb, key).catch(() => []) : [];
    envs.push({ target: name, environment, instances, ...(entry ? { entry } : {}) });
  }

  if (!(await claimAlert(dynamo, table, executionArn, now))) return result;
  // The execution's own stop time: the duration matches the console's and the history's.
  const ended = stopDate ? new Date(stopDate) : now;
  const alert = endedAlert(status, executionArn, startDate ?? undefined, ended, result.released, envs);
  const topics = [
    runtimeEnv().alertTopicArn,
    ...targets.flatMap((t) => config().targets[t]?.alertTopicArn ?? []),
  ];
  const ids = await publishAlert(sns, [...new Set(topics)], alert);
  await markAlertSent(dynamo, table, executionArn, ids);
  result.alerted = true;
  return result;
}

/** The targets an execution input names (a push event may match several); none if unreadable. */
function targetsOf(input: string | null | undefined): string[] {
  if (!input) return [];
  try {
    return parseRequest(JSON.parse(input), config()).flatMap((r) =>
      'request' in r ? [r.request.target] : [],
    );
  } catch {
    return [];
  }
}

interface Ended {
  target: string;
  environment: EnvironmentDescription | undefined;
  instances: InstanceVersion[];
  entry?: HistoryEntry;
}

function endedAlert(
  status: EndedStatus,
  executionArn: string,
  startDate: number | undefined,
  now: Date,
  released: string[],
  envs: Ended[],
): Alert {
  const what = status === 'ABORTED' ? 'STOPPED' : 'TIMED OUT';
  const first = envs[0];
  const target = first?.target ?? WHOLE_STAGE;
  const version = first?.entry?.toVersion;
  const started = startDate ?? (first?.entry ? Date.parse(first.entry.startedAt) : Number.NaN);
  const durationSeconds = Number.isNaN(started)
    ? undefined
    : Math.max(0, Math.round((now.getTime() - started) / 1000));
  const facts: [string, string][] = [['Execution', executionArn]];
  if (!Number.isNaN(started)) facts.push(['Started', new Date(started).toISOString()]);
  facts.push(['Ended', now.toISOString()]);
  if (durationSeconds !== undefined) facts.push(['Duration', formatDuration(durationSeconds)]);
  const sections: AlertModel['sections'] = [];
  const steps: AlertStep[] = [];
  for (const e of envs) {
    const env = e.environment;
    const name = env?.EnvironmentName ?? config().targets[e.target]?.environment ?? e.target;
    sections.push({
      title: `Target ${e.target}`,
      lines: [
        e.entry
          ? `  Deploying:  ${e.entry.fromVersion ?? '(unknown)'} → ${e.entry.toVersion}`
          : '  Deploying:  nothing yet (it ended before the environment was changed)',
        env
          ? `  Now:        ${env.Status} ${env.Health ?? ''} on ${env.VersionLabel ?? '(no version)'}`
          : '  Now:        could not be read',
        released.includes(name)
          ? '  Lock:       released by ebship just now: the next push or `ebship deploy` goes ahead.'
          : '  Lock:       this execution held none (another execution may be deploying it).',
      ],
    });
    steps.push({
      text: `See where ${e.target} is now:`,
      commands: [`ebship status ${e.target}`],
      aws: [`aws elasticbeanstalk describe-environments --environment-names ${name}`],
    });
    if (e.entry && env) {
      const app = env.ApplicationName ?? '';
      steps.push(
        {
          text: `If ${name} is still Updating and should not be, stop the update:`,
          commands: [`aws elasticbeanstalk abort-environment-update --environment-name ${name}`],
        },
        {
          text: `If it runs ${e.entry.toVersion} and that is not wanted, roll back to the last good version:`,
          commands: [`ebship rollback ${e.target} --follow`],
          aws: [
            `aws elasticbeanstalk update-environment --application-name ${app} --environment-name ${name} --version-label <last good>`,
          ],
        },
        {
          text: 'See what the app printed last:',
          commands: [`ebship logs ${e.target}`],
        },
      );
    }
  }
  const app =
    first?.environment?.ApplicationName ?? (first ? config().targets[first.target]?.application : undefined);
  const envName =
    first?.environment?.EnvironmentName ?? (first ? config().targets[first.target]?.environment : undefined);
  const model: AlertModel = {
    outcome: status,
    severity: SEVERITY[status],
    target,
    application: app ?? WHOLE_STAGE,
    environment: envName ?? WHOLE_STAGE,
    title: `${what} - check the environment: ${target}${version ? ` ${version}` : ''}`,
    summary: `An ebship deployment ${status === 'ABORTED' ? 'was stopped from outside (StopExecution or the console)' : 'hit the state machine timeout'} before it finished. ebship did not roll back: the environment may be mid-update or on the new, unverified version.`,
    facts,
    sections,
    stepsTitle: 'What to do',
    stepsIntro: [],
    steps,
    links: consoleLinks({
      executionArn,
      ...(app ? { application: app } : {}),
      ...(envName ? { environment: envName } : {}),
      ...(first?.environment?.EnvironmentId ? { environmentId: first.environment.EnvironmentId } : {}),
    }),
    instances: first?.instances ?? [],
    logTails: [],
    ...(durationSeconds !== undefined ? { durationSeconds } : {}),
    executionId: executionArn,
    threadId: threadIdOf(app ?? 'ebship', envName ?? 'stage'),
    keywords: [status, target, ...(envName ? [envName] : []), ...(version ? [version] : [])],
  };
  return renderAlert(model);
}
