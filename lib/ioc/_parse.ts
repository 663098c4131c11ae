/**
 * The one place the shell reaches the .db / substitution / st.cmd / ACF parsers
 * (lib/ioc/parse).
 * @module
 */

export {
  accessFor,
  parseAcf,
  parseDatabase,
  parseShellLine,
  parseSubstitutions,
} from "./parse/mod.ts";
export type { Acf } from "./parse/mod.ts";
