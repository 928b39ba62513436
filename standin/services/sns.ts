import { randomUUID } from 'node:crypto';
import { type JsonObject, pageOf, ServiceError, str } from '../protocol.js';

/** SNS (query protocol, 2010-03-31): topics and the messages published to them. */

export const SNS_NAMESPACE = 'http://sns.amazonaws.com/doc/2010-03-31/';

export interface PublishedMessage {
  topicArn: string;
  messageId: string;
  subject?: string;
  /** What an email subscription receives (MessageStructure=json: the "email" key, else "default"). */
  message: string;
  /** MessageStructure=json: the message per protocol ("default", "https", "sqs"...), as published. */
  byProtocol?: Record<string, string>;
  attributes: Record<string, string>;
  publishedAt: Date;
}

export class Sns {
  readonly topics = new Set<string>();
  readonly published: PublishedMessage[] = [];
  /** Called for each message published (the rehearsal prints alerts as they arrive). */
  onPublish?: (m: PublishedMessage) => void;

  constructor(
    private readonly region = 'us-east-1',
    private readonly account = '123456789012',
  ) {}

  createTopic(name: string): string {
    const arn = `arn:aws:sns:${this.region}:${this.account}:${name}`;
    this.topics.add(arn);
    return arn;
  }

  handle(action: string, input: JsonObject): unknown {
    switch (action) {
      case 'CreateTopic': {
        const name = str(input, 'Name') ?? '';
        if (!/^[A-Za-z0-9_-]{1,256}(\.fifo)?$/.test(name)) {
          throw new ServiceError('InvalidParameter', 'Invalid parameter: Topic Name');
        }
        return { TopicArn: this.createTopic(name) };
      }
      case 'ListTopics': {
        const { page, next } = pageOf([...this.topics], str(input, 'NextToken'), 100);
        return { Topics: page.map((TopicArn) => ({ TopicArn })), NextToken: next };
      }
      case 'Publish':
        return this.publish(input);
      default:
        throw new ServiceError('InvalidAction', `The action ${action} is not valid for this web service.`);
    }
  }

  /** A message an EventBridge rule delivers to a topic (no subject). */
  publishFromEventBridge(topicArn: string, message: string): void {
    if (!this.topics.has(topicArn)) return;
    const published: PublishedMessage = {
      topicArn,
      messageId: randomUUID(),
      message,
      attributes: {},
      publishedAt: new Date(),
    };
    this.published.push(published);
    this.onPublish?.(published);
  }

  private publish(input: JsonObject): unknown {
    const topicArn = str(input, 'TopicArn') ?? str(input, 'TargetArn') ?? '';
    if (!this.topics.has(topicArn)) throw new ServiceError('NotFound', 'Topic does not exist', 404);
    const raw = str(input, 'Message');
    if (!raw) throw new ServiceError('InvalidParameter', 'Invalid parameter: Empty message');
    const byProtocol = str(input, 'MessageStructure') === 'json' ? perProtocol(raw) : undefined;
    const message = byProtocol ? (byProtocol.email ?? byProtocol.default ?? '') : raw;
    // SNS API reference, Publish: "Maximum message size: 256 KB" (the whole Message, every protocol's).
    if (Buffer.byteLength(raw, 'utf8') > 262_144) {
      throw new ServiceError('InvalidParameter', 'Invalid parameter: Message too long');
    }
    const subject = str(input, 'Subject');
    // SNS API reference, Publish: "Subjects must be UTF-8 text with no line breaks or control
    // characters, and less than 100 characters long."
    if (subject !== undefined && (subject.length >= 100 || hasControlCharacter(subject))) {
      throw new ServiceError('InvalidParameter', 'Invalid parameter: Subject');
    }
    const attributes: Record<string, string> = {};
    const entries = Array.isArray(input.MessageAttributes) ? (input.MessageAttributes as JsonObject[]) : [];
    for (const e of entries) {
      const value = (e.Value ?? {}) as JsonObject;
      const name = str(e, 'Name');
      if (name) attributes[name] = str(value, 'StringValue') ?? '';
    }
    const published: PublishedMessage = {
      topicArn,
      messageId: randomUUID(),
      subject,
      message,
      ...(byProtocol ? { byProtocol } : {}),
      attributes,
      publishedAt: new Date(),
    };
    this.published.push(published);
    this.onPublish?.(published);
    return { MessageId: published.messageId };
  }
}

/**
 * SNS API reference, Publish, MessageStructure: "json" means Message is a JSON object with at least
 * a top-level "default" key whose value is a string; other keys name protocols. Otherwise SNS
 * answers InvalidParameter.
 */
function perProtocol(raw: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ServiceError(
      'InvalidParameter',
      'Invalid parameter: Message Structure - JSON message body failed to parse',
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ServiceError(
      'InvalidParameter',
      'Invalid parameter: Message Structure - JSON message body failed to parse',
    );
  }
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (typeof (parsed as Record<string, unknown>).default !== 'string') {
    throw new ServiceError(
      'InvalidParameter',
      'Invalid parameter: Message Structure - No default entry in JSON message body',
    );
  }
  return Object.fromEntries(entries.filter(([, v]) => typeof v === 'string')) as Record<string, string>;
}

function hasControlCharacter(text: string): boolean {
  return [...text].some((c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 || (code >= 0x7f && code <= 0x9f);
  });
}
