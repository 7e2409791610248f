/** Host names in profile rules. */
import { isIP } from "node:net";

/** A rule's host is a name (not an address, not `*`, not a unix socket path). */
export const isHostName = (host: string): boolean => host !== "*" && !host.startsWith("/") && isIP(host) === 0;
