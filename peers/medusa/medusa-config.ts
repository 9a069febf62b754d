// The techOMS peer store: Medusa 2.21.2 with nothing but PostgreSQL behind it.
// No Redis module is configured, so Medusa uses its in-memory event bus, cache, locking
// and workflow engine; the admin dashboard is off (it needs a Vite build this peer has
// no use for). Every value a run differs by comes from the environment.
import { defineConfig, loadEnv } from "@medusajs/framework/utils"

loadEnv(process.env.NODE_ENV || "development", process.cwd())

const local = "http://localhost:8000,http://127.0.0.1:8000"

module.exports = defineConfig({
  projectConfig: {
    databaseUrl: process.env.DATABASE_URL,
    databaseDriverOptions: { connection: { ssl: false } },
    http: {
      storeCors: process.env.STORE_CORS || local,
      adminCors: process.env.ADMIN_CORS || local,
      authCors: process.env.AUTH_CORS || local,
      jwtSecret: process.env.JWT_SECRET || "techoms-peer-jwt",
      cookieSecret: process.env.COOKIE_SECRET || "techoms-peer-cookie",
    },
  },
  admin: { disable: true },
  plugins: [
    {
      // Our webhook plugin, installed from ./plugin as a merchant installs it from npm.
      // With no options it reads TECHOMS_WEBHOOK_URL / TECHOMS_WEBHOOK_SECRET, or the
      // JSON file named by TECHOMS_WEBHOOK_CONFIG at each delivery (the tests repoint it).
      resolve: "@techoms/medusa-webhooks",
      options: {},
    },
  ],
})
