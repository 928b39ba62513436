import * as v from 'valibot';

/**
 * Amazon Q Developer in chat applications (formerly AWS Chatbot), custom notification event format:
 * https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html ("Event schema",
 * "Parameter details"). Amazon Q renders only this shape from an SNS message; anything else (plain
 * text included) is answered in the channel with "Event received is not supported".
 *
 * - version: required, must be "1.0"; source: required, must be "custom"; id: optional.
 * - content.textType: optional, only "client-markdown" is supported (the chat platform's markdown).
 * - content.title, content.description: markdown; nextSteps and keywords: lists of strings.
 * - metadata (optional): threadId groups notifications in one chat thread; summary, eventType
 *   (what custom actions match on), relatedResources, additionalContext (string → string).
 *
 * The doc gives no length limits; ebship keeps each field small (chat-render.ts) so that every
 * rendering of one alert fits the 256 KiB SNS message together.
 */
const nonEmpty = v.pipe(v.string(), v.minLength(1));

export const chatNotificationSchema = v.strictObject({
  version: v.literal('1.0'),
  source: v.literal('custom'),
  id: v.optional(nonEmpty),
  content: v.strictObject({
    textType: v.optional(v.literal('client-markdown')),
    title: v.optional(nonEmpty),
    description: nonEmpty,
    nextSteps: v.optional(v.array(nonEmpty)),
    keywords: v.optional(v.array(nonEmpty)),
  }),
  metadata: v.optional(
    v.strictObject({
      threadId: v.optional(nonEmpty),
      summary: v.optional(nonEmpty),
      eventType: v.optional(nonEmpty),
      relatedResources: v.optional(v.array(nonEmpty)),
      additionalContext: v.optional(v.record(v.string(), v.string())),
    }),
  ),
});

export type ChatNotification = v.InferOutput<typeof chatNotificationSchema>;
