import posthog from "posthog-js";

// Our own proxy path and the EU app: set on purpose, keep them.
posthog.init(process.env.NEXT_PUBLIC_POSTHOG_KEY!, {
  api_host: "/relay-7f3a",
  ui_host: "https://eu.posthog.com",
  person_profiles: "identified_only",
  capture_exceptions: true,
});
