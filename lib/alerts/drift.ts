import { threadIdOf } from './compose.js';
import { consoleLinks } from './links.js';
import { type AlertModel, SEVERITY } from './model.js';

/**
 * The reconciler's alerts (lib/steps/reconcile.ts): an environment runs a version ebship did not
 * deploy (a console or CLI deploy, EB's own revert), and, once, that it is back on ebship's record.
 */
export interface DriftFacts {
  target: string;
  application: string;
  environment: string;
  environmentId?: string;
  /** The label the environment runs now. */
  running: string;
  /** ebship's record: the last version it deployed and verified. */
  recorded: string;
  recordedAt?: string;
  region: string;
}

export function driftModel(f: DriftFacts): AlertModel {
  const r = f.region ? ` --region ${f.region}` : '';
  return {
    outcome: 'DRIFT',
    severity: SEVERITY.DRIFT,
    target: f.target,
    application: f.application,
    environment: f.environment,
    title: `DRIFT: ${f.target} runs ${f.running}, not ${f.recorded}`,
    summary:
      `${f.environment} runs ${f.running}, which ebship did not deploy; ebship's record is ${f.recorded}. ` +
      'Someone deployed from the console or the CLI, or Elastic Beanstalk reverted an update. ebship changes nothing: ' +
      `its next push deploys over it, and a failed deploy rolls back to ${f.recorded}, not to ${f.running}.`,
    facts: [
      ['Target', f.target],
      ['Application', f.application],
      ['Environment', f.environment],
      ['Running', f.running],
      ['ebship record', `${f.recorded}${f.recordedAt ? ` (deployed ${f.recordedAt})` : ''}`],
    ],
    sections: [],
    stepsTitle: 'What to do',
    stepsIntro: [],
    steps: [
      {
        text: 'See who changed it, and why (the environment events name the version and the request):',
        commands: [`ebship status ${f.target}`],
        aws: [`aws elasticbeanstalk describe-events --environment-name ${f.environment} --max-items 20${r}`],
      },
      {
        text: `If ${f.running} is wanted, deploy it through ebship so it becomes the record (verified like any deploy):`,
        commands: [`ebship rollback ${f.target} --to ${f.running} --follow`],
      },
      {
        text: `Otherwise put ${f.environment} back on ${f.recorded}:`,
        commands: [`ebship rollback ${f.target} --to ${f.recorded} --follow`],
        aws: [
          `aws elasticbeanstalk update-environment --environment-name ${f.environment} --version-label ${f.recorded}${r}`,
        ],
      },
    ],
    links: consoleLinks({
      region: f.region,
      application: f.application,
      environment: f.environment,
      environmentId: f.environmentId,
    }),
    instances: [],
    logTails: [],
    threadId: threadIdOf(f.application, f.environment),
    keywords: ['DRIFT', f.target, f.environment, f.running],
  };
}

/** Sent when the environment is back on the label recorded when the drift was alerted. */
export function driftResolvedModel(f: DriftFacts & { was: string }): AlertModel {
  return {
    outcome: 'DRIFT_RESOLVED',
    severity: SEVERITY.DRIFT_RESOLVED,
    target: f.target,
    application: f.application,
    environment: f.environment,
    title: `DRIFT RESOLVED: ${f.target} is back on ${f.recorded}`,
    summary: `${f.environment} runs ${f.recorded} again, ebship's record; it ran ${f.was}, which ebship did not deploy.`,
    facts: [
      ['Target', f.target],
      ['Application', f.application],
      ['Environment', f.environment],
      ['Running', f.running],
      ['Was', f.was],
    ],
    sections: [],
    stepsTitle: 'What to do',
    stepsIntro: ['Nothing: this closes the drift alert.'],
    steps: [{ text: 'Check where every target is:', commands: ['ebship status'] }],
    links: consoleLinks({
      region: f.region,
      application: f.application,
      environment: f.environment,
      environmentId: f.environmentId,
    }),
    instances: [],
    logTails: [],
    threadId: threadIdOf(f.application, f.environment),
    keywords: ['DRIFT_RESOLVED', f.target, f.environment, f.recorded],
  };
}
