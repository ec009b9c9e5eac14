"use client";

import posthog from "posthog-js";
import { useState } from "react";
import type { PlanId } from "@/lib/plans";

type Status =
  | { kind: "idle" }
  | { kind: "pending" }
  | { kind: "subscribed"; subscriptionId: string }
  | { kind: "failed"; message: string };

export default function SubscribeButton({
  planId,
  planName,
}: {
  planId: PlanId;
  planName: string;
}) {
  const [status, setStatus] = useState<Status>({ kind: "idle" });

  async function handleClick() {
    posthog.capture("subscribe_clicked", { plan: planId });
    setStatus({ kind: "pending" });
    try {
      const response = await fetch("/api/subscribe", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ plan: planId }),
      });
      const body = await response.json();
      if (!response.ok) {
        setStatus({ kind: "failed", message: body.error ?? "Subscription failed" });
        return;
      }
      setStatus({ kind: "subscribed", subscriptionId: body.subscriptionId });
    } catch {
      setStatus({ kind: "failed", message: "Network error, please retry" });
    }
  }

  if (status.kind === "subscribed") {
    return <p className="notice">Subscribed to {planName}. Welcome aboard!</p>;
  }

  return (
    <div>
      <button
        type="button"
        className="button"
        onClick={handleClick}
        disabled={status.kind === "pending"}
      >
        {status.kind === "pending" ? "Subscribing…" : `Subscribe to ${planName}`}
      </button>
      {status.kind === "failed" && <p className="error">{status.message}</p>}
    </div>
  );
}
