import * as z from 'zod/mini';

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
const nonEmpty = z.string().check(z.minLength(1));

export const chatNotificationSchema = z.strictObject({
  version: z.literal('1.0'),
  source: z.literal('custom'),
  id: z.optional(nonEmpty),
  content: z.strictObject({
    textType: z.optional(z.literal('client-markdown')),
    title: z.optional(nonEmpty),
    description: nonEmpty,
    nextSteps: z.optional(z.array(nonEmpty)),
    keywords: z.optional(z.array(nonEmpty)),
  }),
  metadata: z.optional(
    z.strictObject({
      threadId: z.optional(nonEmpty),
      summary: z.optional(nonEmpty),
      eventType: z.optional(nonEmpty),
      relatedResources: z.optional(z.array(nonEmpty)),
      additionalContext: z.optional(z.record(z.string(), z.string())),
    }),
  ),
});

export type ChatNotification = z.infer<typeof chatNotificationSchema>;
