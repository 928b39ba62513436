import * as z from 'zod';

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
export const chatNotificationSchema = z
  .object({
    version: z.literal('1.0'),
    source: z.literal('custom'),
    id: z.string().min(1).optional(),
    content: z
      .object({
        textType: z.literal('client-markdown').optional(),
        title: z.string().min(1).optional(),
        description: z.string().min(1),
        nextSteps: z.array(z.string().min(1)).optional(),
        keywords: z.array(z.string().min(1)).optional(),
      })
      .strict(),
    metadata: z
      .object({
        threadId: z.string().min(1).optional(),
        summary: z.string().min(1).optional(),
        eventType: z.string().min(1).optional(),
        relatedResources: z.array(z.string().min(1)).optional(),
        additionalContext: z.record(z.string(), z.string()).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ChatNotification = z.infer<typeof chatNotificationSchema>;
