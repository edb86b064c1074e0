import { ensureNextBuild } from "./ensure-next-build";
import { main } from "./index";

ensureNextBuild();
await main();
