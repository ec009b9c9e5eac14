"use client";

import posthog from "posthog-js";
import { useEffect } from "react";

// Identify once per user: re-identifying on every render merged people by mistake.
export function IdentifyUser({ userId }: { userId?: string }) {
  useEffect(() => {
    if (!userId) return;
    if (posthog.get_distinct_id() === userId) return; // already identified
    posthog.identify(userId);
  }, [userId]);
  return null;
}
