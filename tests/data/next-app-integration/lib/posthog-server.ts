import { PostHog } from "posthog-node";

let posthogClient: PostHog | null = null;

// One client per server process, shared by every route handler.
export function getPostHogClient(): PostHog {
  if (!posthogClient) {
    // Without a token posthog-node disables itself and logs why; it never throws.
    posthogClient = new PostHog(process.env.NEXT_PUBLIC_POSTHOG_PROJECT_TOKEN ?? "", {
      host: process.env.POSTHOG_HOST || process.env.NEXT_PUBLIC_POSTHOG_HOST,
      // Route handlers can be short-lived: send each event as soon as it is captured.
      flushAt: 1,
      flushInterval: 0,
    });
  }
  return posthogClient;
}

// Sends anything still queued and stops the client. Call it once, before the
// process exits; per request, use `flush()` instead.
export async function shutdownPostHog(): Promise<void> {
  if (posthogClient) {
    const client = posthogClient;
    posthogClient = null;
    await client.shutdown();
  }
}
