import * as v from 'valibot';
import type { EbshipConfig } from '../config/schema.js';
import { InputInvalid } from '../errors.js';
import { IN_WORDS, issueLines } from '../text/schema-issues.js';
import { DIGEST, TAG } from './image-ref.js';
import { tagRejection } from './tags.js';

/**
 * What an execution was asked to do, before any AWS call: parsed from the ECR push event that
 * EventBridge delivers, or from a manual request. Pure: tested with plain data.
 */
export type ReleaseRequest =
  | { kind: 'push'; target: string; repository: string; imageTag?: string; imageDigest: string }
  | { kind: 'manual'; target: string; imageTag?: string; imageDigest?: string; force?: boolean }
  | { kind: 'rollback'; target: string; rollbackTo?: string }
  | {
      kind: 'promotion';
      target: string;
      imageTag?: string;
      imageDigest: string;
      promotedFrom: { target: string; executionId: string };
    };

export type RequestResolution = { request: ReleaseRequest } | { ignored: string };

const ecrPushEvent = v.object({
  source: v.literal('aws.ecr'),
  'detail-type': v.literal('ECR Image Action'),
  detail: v.object({
    'action-type': v.string(),
    result: v.string(),
    'repository-name': v.string(),
    'image-digest': v.optional(v.string()),
    'image-tag': v.optional(v.string()),
  }),
});

// The messages reach whoever started the execution (`ebship deploy`, the console): each says what
// the field should be; the rest are worded by IN_WORDS, which never echoes the value.
const manualRequest = v.strictObject({
  // Bounded and on one line before anything echoes them into an error or an alert.
  target: v.pipe(
    v.string(),
    v.minLength(1, 'must name a target of ebship.yml'),
    v.maxLength(63, 'target names are at most 63 characters'),
  ),
  imageTag: v.optional(v.pipe(v.string(), v.maxLength(128, 'ECR tags are at most 128 characters'))),
  imageDigest: v.optional(v.pipe(v.string(), v.maxLength(71, 'a digest is "sha256:" and 64 hex digits'))),
  rollbackTo: v.optional(
    v.pipe(
      v.string(),
      v.minLength(1, 'EB version labels are 1-100 characters'),
      v.maxLength(100, 'EB version labels are 1-100 characters'),
      v.regex(/^[^/\p{Cc}]+$/u, 'a version label has no "/" and no control characters (newlines, tabs)'),
    ),
  ),
  /** `push` marks a fan-out child: one push that matched several targets (see resolve-release). */
  trigger: v.optional(v.picklist(['manual', 'rollback', 'push', 'promotion'])),
  /** `promotion`: the success that started it (lib/steps/promote.ts). */
  promotedFrom: v.optional(
    v.strictObject({
      target: v.pipe(v.string(), v.minLength(1), v.maxLength(63, 'target names are at most 63 characters')),
      executionId: v.pipe(v.string(), v.minLength(1), v.maxLength(2048)),
    }),
  ),
  /** A manual deploy to a frozen target (`ebship deploy --force`): recorded in history and the alert. */
  force: v.optional(v.boolean()),
});

/**
 * Turns an execution input into a request. A push to a repository no target uses, an untagged push,
 * an ignored tag or a failed push is ignored (not an error: EventBridge delivers what it delivers).
 * A malformed manual request is an error that says how to write it.
 */
export function parseRequest(input: unknown, config: EbshipConfig): RequestResolution[] {
  const push = v.safeParse(ecrPushEvent, input);
  if (push.success) return parsePush(push.output.detail, config);

  if (isRecord(input) && input.source !== undefined) {
    throw new InputInvalid(
      `not an ECR push event (source "${quoted(input.source)}", detail-type "${quoted(input['detail-type'])}"); ` +
        'start the execution from the ECR rule or with {"target": "...", "imageTag": "..."}',
    );
  }
  const manual = v.safeParse(manualRequest, input, IN_WORDS);
  if (!manual.success) {
    const fields = issueLines(manual.issues, 'input').join('; ');
    throw new InputInvalid(
      `manual execution input is invalid (${fields}); expected {"target": "<name>", "imageTag": "<tag>"} or {"target": "<name>", "imageDigest": "sha256:<64 hex>"}`,
    );
  }
  const m = manual.output;
  if (!config.targets[m.target]) {
    throw new InputInvalid(
      `unknown target "${m.target}"; known targets: ${Object.keys(config.targets).sort().join(', ')}`,
    );
  }
  if (m.trigger === 'rollback' || m.rollbackTo !== undefined) {
    if (m.imageTag || m.imageDigest)
      throw new InputInvalid('a rollback takes "rollbackTo" (a version label), not an image tag or digest');
    return [{ request: { kind: 'rollback', target: m.target, rollbackTo: m.rollbackTo } }];
  }
  if (!m.imageTag && !m.imageDigest)
    throw new InputInvalid(`give "imageTag" or "imageDigest" for target "${m.target}"`);
  if (m.imageDigest && !DIGEST.test(m.imageDigest)) {
    throw new InputInvalid(
      `imageDigest "${m.imageDigest}" is malformed; it must be "sha256:" followed by 64 lowercase hex digits`,
    );
  }
  if (m.imageTag && !TAG.test(m.imageTag)) {
    throw new InputInvalid(
      `imageTag "${m.imageTag}" is not a valid ECR tag (up to 128 of A-Z a-z 0-9 _ . -)`,
    );
  }
  if (m.trigger === 'promotion' || m.promotedFrom !== undefined) return [promotionRequest(m, config)];
  if (m.trigger === 'push' && m.imageDigest) {
    const repository = config.targets[m.target]?.source.repository ?? '';
    return [
      {
        request: {
          kind: 'push',
          target: m.target,
          repository,
          imageTag: m.imageTag,
          imageDigest: m.imageDigest,
        },
      },
    ];
  }
  return [
    {
      request: {
        kind: 'manual',
        target: m.target,
        imageTag: m.imageTag,
        imageDigest: m.imageDigest,
        ...(m.force ? { force: true } : {}),
      },
    },
  ];
}

/**
 * A promotion's input (lib/steps/promote.ts): the digest, and the success on the target this one
 * promotes from. Whether that digest really succeeded there is AcquireLock's proof gate, on the record.
 */
function promotionRequest(
  m: v.InferOutput<typeof manualRequest>,
  config: EbshipConfig,
): { request: ReleaseRequest } {
  const from = config.targets[m.target]?.promote?.from;
  if (m.trigger !== 'promotion' || !m.promotedFrom || !m.imageDigest) {
    throw new InputInvalid(
      'a promotion takes "trigger": "promotion", "imageDigest" and "promotedFrom": {"target", "executionId"} together; ' +
        `to deploy by hand, use {"target": "${m.target}", "imageDigest": "..."}`,
    );
  }
  if (from !== m.promotedFrom.target) {
    throw new InputInvalid(
      from
        ? `target "${m.target}" promotes from "${from}", not "${m.promotedFrom.target}"`
        : `target "${m.target}" has no promote.from in ebship.yml, so nothing promotes to it`,
    );
  }
  return {
    request: {
      kind: 'promotion',
      target: m.target,
      imageTag: m.imageTag,
      imageDigest: m.imageDigest,
      promotedFrom: m.promotedFrom,
    },
  };
}

/**
 * A field of an unknown event, for an error message: strings as they are (bounded), anything else
 * by its type. `String(x)` would call the input's own toString, which an object can make throw.
 */
function quoted(value: unknown): string {
  return typeof value === 'string' ? value.slice(0, 100) : `(${value === null ? 'null' : typeof value})`;
}

function parsePush(
  detail: v.InferOutput<typeof ecrPushEvent>['detail'],
  config: EbshipConfig,
): RequestResolution[] {
  const repo = detail['repository-name'];
  if (detail['action-type'] !== 'PUSH' || detail.result !== 'SUCCESS') {
    return [{ ignored: `ECR ${detail['action-type']} ${detail.result} on ${repo} is not a successful push` }];
  }
  const digest = detail['image-digest'];
  if (!digest || !DIGEST.test(digest)) return [{ ignored: `push to ${repo} carries no valid image digest` }];
  const tag = detail['image-tag'];
  if (!tag) return [{ ignored: `untagged push to ${repo} (${digest}) is ignored` }];
  const targets = Object.entries(config.targets).filter(([, t]) => t.source.repository === repo);
  if (targets.length === 0) return [{ ignored: `no target deploys repository ${repo}` }];
  return targets.map(([name, t]) => {
    const why = tagRejection(tag, t);
    return why
      ? { ignored: `${repo}:${tag} ${why} for target ${name}` }
      : { request: { kind: 'push', target: name, repository: repo, imageTag: tag, imageDigest: digest } };
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
