import { after, NextResponse } from "next/server";
import { findPlan } from "@/lib/plans";
import { getPostHogClient } from "@/lib/posthog-server";

export async function POST(request: Request) {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return NextResponse.json({ error: "Body must be JSON" }, { status: 400 });
  }

  const plan = findPlan((body as { plan?: unknown } | null)?.plan);
  if (!plan) {
    return NextResponse.json({ error: "Unknown plan" }, { status: 400 });
  }

  // A real app would create the subscription with its billing provider here.
  const subscriptionId = `sub_${crypto.randomUUID()}`;

  // posthog-js sends its ids in these headers (tracing_headers), so this event
  // joins the visitor's session. Without them the event is captured personless.
  const distinctId = request.headers.get("x-posthog-distinct-id") ?? undefined;
  const sessionId = request.headers.get("x-posthog-session-id");
  const posthog = getPostHogClient();
  posthog.capture({
    distinctId,
    event: "subscription_created",
    properties: {
      plan: plan.id,
      plan_price_usd: plan.priceUsd,
      subscription_id: subscriptionId,
      ...(sessionId ? { $session_id: sessionId } : {}),
    },
  });
  // Deliver the event after the response is sent, so analytics never slows
  // down or fails the subscription itself.
  after(() => posthog.flush());

  return NextResponse.json({
    subscriptionId,
    plan: plan.id,
    status: "active",
  });
}
