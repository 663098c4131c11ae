/**
 * ECA status names for error messages ("ECA_PUTFAIL").
 * @module
 */

import { Eca } from "../proto/constants.ts";

const NAMES = new Map<number, string>(
  Object.entries(Eca).map(([k, v]) => [v as number, `ECA_${k}`]),
);

/**
 * The name of an ECA status code.
 * @param eca the code as sent on the wire
 * @returns "ECA_PUTFAIL", or "ECA status N" for an unknown code
 * @example
 * ```ts
 * import { ecaName } from "./eca_names.ts";
 * if (ecaName(160) !== "ECA_PUTFAIL") throw new Error();
 * ```
 */
export function ecaName(eca: number): string {
  return NAMES.get(eca) ?? `ECA status ${eca}`;
}
