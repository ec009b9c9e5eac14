import posthog from "posthog-js";

const token = process.env.NEXT_PUBLIC_POSTHOG_PROJECT_TOKEN;

if (token) {
  posthog.init(token, {
    api_host: "/ingest",
    ui_host: "https://us.posthog.com",
    defaults: "2026-08-30",
    capture_exceptions: true,
    // Adds X-POSTHOG-DISTINCT-ID and X-POSTHOG-SESSION-ID to this app's own API
    // requests, so server-side events join the visitor's session.
    tracing_headers: [window.location.hostname],
    debug: process.env.NODE_ENV === "development",
  });
} else if (process.env.NODE_ENV === "development") {
  console.warn("PostHog is off: NEXT_PUBLIC_POSTHOG_PROJECT_TOKEN is not set");
}
