/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The custom server (server/index.ts) owns the HTTP port; Next must not try to reach the network.
  typescript: { tsconfigPath: "tsconfig.json" },
  serverExternalPackages: ["better-sqlite3", "pino"],
};

export default nextConfig;
