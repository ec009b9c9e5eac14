import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Send PostHog traffic through this app's own domain so ad blockers
  // do not drop it.
  async rewrites() {
    return [
      {
        source: "/ingest/static/:path*",
        destination: "https://us-assets.i.posthog.com/static/:path*",
      },
      {
        source: "/ingest/array/:path*",
        destination: "https://us-assets.i.posthog.com/array/:path*",
      },
      {
        source: "/ingest/:path*",
        destination: "https://us.i.posthog.com/:path*",
      },
    ];
  },
  // PostHog's API paths end in a trailing slash; keep Next.js from redirecting them.
  skipTrailingSlashRedirect: true,
};

export default nextConfig;
