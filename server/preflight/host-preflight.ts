import type { PreflightReport } from "./preflight-check";

/**
 * The preflight as the host console's route reaches it: a function the custom server puts on the
 * AppContext. It runs there and not in the route's bundle, because the checks read the migration
 * files next to the server's own code and open the database drivers the server already has.
 */
export type RunHostPreflight = () => Promise<PreflightReport>;
