import type { Instrumentation } from "next";

// Reports errors thrown while rendering pages and running route handlers.
export const onRequestError: Instrumentation.onRequestError = async (err, request) => {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { getPostHogClient } = await import("./lib/posthog-server");
  const { cookieStoreFromHeader, readPostHogCookie } = await import("posthog-node");
  // Full-page requests carry PostHog's cookie (ph_<token>_posthog), not a header:
  // it names the visitor and session the browser uses.
  const cookie = request.headers.cookie;
  const state = readPostHogCookie(
    cookieStoreFromHeader(Array.isArray(cookie) ? cookie.join("; ") : (cookie ?? "")),
    process.env.NEXT_PUBLIC_POSTHOG_PROJECT_TOKEN ?? "",
  );
  // Awaited: a serverless function may stop as soon as this returns.
  await getPostHogClient().captureExceptionImmediate(
    err,
    state?.distinctId,
    state?.sessionId ? { $session_id: state.sessionId } : undefined,
  );
};
