import { NextResponse } from "next/server";
import { findPlan } from "@/lib/plans";

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

  return NextResponse.json({
    subscriptionId,
    plan: plan.id,
    status: "active",
  });
}
