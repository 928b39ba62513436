import type { EbFault } from '../faults.js';
import { requestId } from '../protocol.js';
import { rank } from './eb-health.js';
import {
  DEFAULT_HEALTH_STATUS,
  type Environment,
  type HealthStep,
  type Instance,
  type Severity,
  type UpdateBehaviour,
} from './eb-model.js';

/**
 * An environment's update lifecycle in the EB stand-in: UpdateEnvironment's timeline (Updating, then
 * deployed, reverted, partial or stuck, then the scenario's health), AbortEnvironmentUpdate's revert,
 * and the environment faults armed for an update (health flap, console deploy, termination).
 * elastic-beanstalk.ts validates the calls and owns the state; this module moves it along the clock.
 */

/** What the lifecycle needs from the EB stand-in that owns the environments. */
export interface UpdateHost {
  now(): number;
  /** Applies a change when the simulated clock reaches `at`; `env` tags what an abort cancels. */
  schedule(at: number, apply: () => void, env?: Environment): void;
  /** Drops the pending changes of an environment. */
  cancel(environment: string): void;
  event(
    application: string,
    environment: string | undefined,
    versionLabel: string | undefined,
    severity: Severity,
    message: string,
    at: number,
    request?: string,
  ): void;
  hasVersion(application: string, label: string): boolean;
  addVersion(application: string, label: string): void;
  /** The Docker problem of a version's bundle, if its bundle is in S3 and has one. */
  dockerProblemOf(application: string, label: string): string | undefined;
}

export class UpdateLifecycle {
  constructor(private readonly host: UpdateHost) {}

  /**
   * UpdateEnvironment with a version label on a Ready environment: the scenario's next behaviour
   * (the last one repeats) and the faults armed for this update.
   */
  update(
    env: Environment,
    label: string,
    request: string,
    faults?: { spec: EbFault; fire: (detail?: string) => void }[],
  ): void {
    const behaviour = env.spec.onUpdate[Math.min(env.updates, env.spec.onUpdate.length - 1)] ?? {
      durationSeconds: 60,
      result: 'deployed' as const,
      health: [],
    };
    env.updates += 1;
    this.start(env, label, behaviour, request, faults);
  }

  start(
    env: Environment,
    label: string,
    behaviour: UpdateBehaviour,
    request: string,
    faults: { spec: EbFault; fire: (detail?: string) => void }[] = [],
    start = this.host.now(),
  ): void {
    // EB does not check Docker configuration when it processes a version: the instances find out
    // when they deploy it, and the deploy fails there.
    const dockerFailure = this.host.dockerProblemOf(env.spec.application, label);
    if (dockerFailure && behaviour.result !== 'stuck') behaviour = { ...behaviour, result: 'reverted' };
    env.deployments += 1;
    env.previousVersion = env.versionLabel;
    // EB shows the version being deployed from the moment the update starts; a failed deploy puts
    // the previous one back.
    env.versionLabel = label;
    env.requestId = request;
    env.status = 'Updating';
    env.updatedAt = new Date(start);
    this.setHealth(
      env,
      { afterSeconds: 0, color: 'Grey', healthStatus: 'Pending', causes: [] },
      start,
      false,
    );
    const deploymentId = env.deployments;
    for (const i of env.instances) {
      i.deploymentId = deploymentId;
      i.deploymentStatus = 'In Progress';
      i.deploymentTime = new Date(start);
    }
    const app = env.spec.application;
    const name = env.spec.environment;
    this.host.event(app, name, label, 'INFO', 'Environment update is starting.', start, env.requestId);
    for (const f of faults) this.scheduleFault(env, f.spec, f.fire, start, behaviour);
    if (behaviour.result === 'stuck') return;
    if (behaviour.result === 'crash-loop') {
      this.crashLoop(env, label, behaviour, start);
      return;
    }
    const end = start + behaviour.durationSeconds * 1000;
    // Every event of the update's end: same application, environment, label, time and request.
    const done = (severity: 'INFO' | 'ERROR', message: string) =>
      this.host.event(app, name, label, severity, message, end, env.requestId);
    this.host.schedule(
      end,
      () => {
        const previous = env.previousVersion ?? env.versionLabel;
        env.status = 'Ready';
        env.updatedAt = new Date(end);
        if (behaviour.result === 'reverted') {
          if (dockerFailure) {
            for (const i of env.instances) {
              done(
                'ERROR',
                `[Instance: ${i.id}] Command failed on instance. Return code: 1 Output: Engine execution has encountered an error..`,
              );
            }
            done('ERROR', "Instance deployment failed. For details, see 'eb-engine.log'.");
          }
          env.versionLabel = previous;
          for (const i of env.instances) this.deployInstance(i, previous, 'Deployed', end);
          done('ERROR', 'Failed to deploy application.');
          done('INFO', 'The environment was reverted to the previous configuration setting.');
          done(
            'ERROR',
            'Update environment operation is complete, but with errors. For more information, see troubleshooting documentation.',
          );
        } else if (behaviour.result === 'partial') {
          env.versionLabel = label;
          env.instances.forEach((i, n) => {
            if (n === 0) this.deployInstance(i, label, 'Deployed', end);
            else this.deployInstance(i, previous, 'Failed', end);
          });
          done(
            'ERROR',
            'Update environment operation is complete, but with errors. For more information, see troubleshooting documentation.',
          );
        } else {
          env.versionLabel = label;
          for (const i of env.instances) this.deployInstance(i, label, 'Deployed', end);
          done('INFO', 'New application version was deployed to running EC2 instances.');
          done('INFO', 'Environment update completed successfully.');
        }
        const steps =
          behaviour.health.length > 0 ? behaviour.health : [{ afterSeconds: 0, color: 'Green' as const }];
        for (const step of steps) {
          const at = end + step.afterSeconds * 1000;
          this.host.schedule(at, () => this.setHealth(env, step, at, true), env);
        }
      },
      env,
    );
  }

  /**
   * A release that crash-loops: 20 s in, every instance runs the new version (deployment still In
   * Progress) and fails its health checks (Severe) while EB stays Updating; at EB's command timeout
   * (`durationSeconds`) the deploy fails and EB reverts. AbortEnvironmentUpdate cancels both.
   */
  private crashLoop(env: Environment, label: string, behaviour: UpdateBehaviour, start: number): void {
    const app = env.spec.application;
    const name = env.spec.environment;
    const landed = start + 20_000;
    this.host.schedule(
      landed,
      () => {
        for (const i of env.instances) this.deployInstance(i, label, 'In Progress', landed);
        this.setHealth(
          env,
          {
            afterSeconds: 0,
            color: 'Red',
            healthStatus: 'Severe',
            causes: [
              'Process default has been unhealthy (Target.FailedHealthChecks): the container exits shortly after it starts.',
            ],
          },
          landed,
          true,
        );
      },
      env,
    );
    const end = start + behaviour.durationSeconds * 1000;
    this.host.schedule(
      end,
      () => {
        const previous = env.previousVersion ?? env.versionLabel;
        const done = (severity: 'INFO' | 'ERROR', message: string) =>
          this.host.event(app, name, label, severity, message, end, env.requestId);
        env.status = 'Ready';
        env.updatedAt = new Date(end);
        for (const i of env.instances) {
          done(
            'ERROR',
            `[Instance: ${i.id}] Command failed on instance. An unexpected error has occurred [ErrorCode: 0000000001].`,
          );
        }
        done('ERROR', 'Failed to deploy application.');
        env.versionLabel = previous;
        for (const i of env.instances) this.deployInstance(i, previous, 'Deployed', end);
        this.setHealth(env, { afterSeconds: 0, color: 'Green' }, end, true);
        done('INFO', 'The environment was reverted to the previous configuration setting.');
        done(
          'ERROR',
          'Update environment operation is complete, but with errors. For more information, see troubleshooting documentation.',
        );
      },
      env,
    );
  }

  /** Schedules an environment fault armed for this update (faults.ts). */
  private scheduleFault(
    env: Environment,
    spec: EbFault,
    fire: (detail?: string) => void,
    start: number,
    behaviour: UpdateBehaviour,
  ): void {
    if (spec.fault === 'health-flap') {
      if (behaviour.result === 'stuck') return;
      const end = start + behaviour.durationSeconds * 1000;
      spec.steps.forEach((step, n) => {
        const at = end + step.afterSeconds * 1000;
        this.host.schedule(
          at,
          () => {
            if (n === 0) fire(step.color);
            this.setHealth(env, step, at, true);
          },
          env,
        );
      });
      return;
    }
    if (spec.fault === 'console-deploy') {
      // Someone deploys another version from the console: EB only accepts it once the environment is
      // Ready, so the console user retries until then. Not tagged with the environment: an abort of
      // ebship's update does not cancel it.
      const attempt = (at: number) => {
        if (env.status === 'Terminating' || env.status === 'Terminated') return;
        if (env.status !== 'Ready') {
          this.host.schedule(at + 10_000, () => attempt(at + 10_000));
          return;
        }
        if (!this.host.hasVersion(env.spec.application, spec.versionLabel)) {
          this.host.addVersion(env.spec.application, spec.versionLabel);
        }
        fire(spec.versionLabel);
        const request = requestId();
        this.start(
          env,
          spec.versionLabel,
          { durationSeconds: spec.durationSeconds, result: 'deployed', health: [] },
          request,
          [],
          at,
        );
      };
      const at = start + spec.afterSeconds * 1000;
      this.host.schedule(at, () => attempt(at));
      return;
    }
    const at = start + spec.afterSeconds * 1000;
    this.host.schedule(at, () => this.terminate(env, at, fire));
  }

  /** The environment is terminated (by someone else): Terminating, then Terminated with no instances. */
  private terminate(env: Environment, at: number, fire: (detail?: string) => void): void {
    if (env.status === 'Terminating' || env.status === 'Terminated') return;
    fire(env.status);
    this.host.cancel(env.spec.environment);
    const app = env.spec.application;
    const name = env.spec.environment;
    const request = requestId();
    env.status = 'Terminating';
    env.updatedAt = new Date(at);
    env.color = 'Grey';
    env.healthStatus = 'Unknown';
    env.causes = [];
    this.host.event(app, name, undefined, 'INFO', 'terminateEnvironment is starting.', at, request);
    const end = at + 120_000;
    this.host.schedule(end, () => {
      env.status = 'Terminated';
      env.updatedAt = new Date(end);
      env.instances = [];
      this.host.event(
        app,
        name,
        undefined,
        'INFO',
        'terminateEnvironment completed successfully.',
        end,
        request,
      );
    });
  }

  private deployInstance(i: Instance, label: string, status: Instance['deploymentStatus'], at: number): void {
    i.versionLabel = label;
    i.deploymentStatus = status;
    i.deploymentTime = new Date(at);
  }

  setHealth(env: Environment, step: HealthStep, at: number, announce: boolean): void {
    const healthStatus = step.healthStatus ?? DEFAULT_HEALTH_STATUS[step.color];
    const before = env.healthStatus;
    env.color = step.color;
    env.healthStatus = healthStatus;
    env.causes = step.causes ?? [];
    if (announce && before !== healthStatus && before !== 'Pending' && healthStatus !== 'Pending') {
      const worse = rank(healthStatus) > rank(before);
      const detail = env.causes.length > 0 ? ` ${env.causes.join(' ')}` : '';
      this.host.event(
        env.spec.application,
        env.spec.environment,
        undefined,
        worse && rank(healthStatus) >= rank('Warning') ? 'WARN' : 'INFO',
        `Environment health has transitioned from ${before} to ${healthStatus}.${detail}`,
        at,
      );
    }
  }

  /** AbortEnvironmentUpdate on an Updating environment: Aborting, then the previous version back. */
  abort(env: Environment, request: string): void {
    const now = this.host.now();
    this.host.cancel(env.spec.environment);
    env.status = 'Aborting';
    env.requestId = request;
    const previous = env.previousVersion ?? env.versionLabel;
    const app = env.spec.application;
    const name = env.spec.environment;
    this.host.event(app, name, undefined, 'INFO', 'Environment update is being aborted.', now, env.requestId);
    const end = now + 30_000;
    this.host.schedule(
      end,
      () => {
        env.status = 'Ready';
        env.versionLabel = previous;
        for (const i of env.instances) this.deployInstance(i, previous, 'Deployed', end);
        this.setHealth(env, { afterSeconds: 0, color: 'Green' }, end, true);
        this.host.event(
          app,
          name,
          undefined,
          'INFO',
          'The environment was reverted to the previous configuration setting.',
          end,
          env.requestId,
        );
      },
      env,
    );
  }
}
