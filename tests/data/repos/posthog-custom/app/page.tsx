"use client";

import posthog from "posthog-js";

export default function Home() {
  return <button onClick={() => posthog.capture("cta_clicked", { place: "home" })}>Start</button>;
}
