import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  async rewrites() {
    return [
      { source: "/relay-7f3a/static/:path*", destination: "https://eu-assets.i.posthog.com/static/:path*" },
      { source: "/relay-7f3a/:path*", destination: "https://eu.i.posthog.com/:path*" },
    ];
  },
  skipTrailingSlashRedirect: true,
};

export default nextConfig;
