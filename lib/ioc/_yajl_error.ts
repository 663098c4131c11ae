/**
 * The text yajl (base's JSON parser) prints for a syntax error, made from what our JSON5
 * parser reports: the kind and words of the error, then the text around it with a caret.
 * Shared by channel names (dbChannelCreate) and JSON array constants (dbConvertJSON). Pure.
 * @module
 */

/**
 * The verbose error text of yajl_get_error for a syntax error at `offset`.
 * @param prefix who prints it ("dbChannelCreate", "dbConvertJSON")
 * @param kind "lexical" or "parse"
 * @param text yajl's words
 * @param json the text parsed
 * @param offset yajl's offset (what it had consumed when it stopped)
 * @returns the lines, each ending in a newline
 */
export function yajlError(
  prefix: string,
  kind: string,
  text: string,
  json: string,
  offset: number,
): string {
  const spaces = offset < 30 ? 40 - offset : 10;
  const start = offset >= 30 ? offset - 30 : 0;
  const end = Math.min(offset + 30, json.length);
  const snippet = json.slice(start, end).replace(/[\r\n]/g, " ");
  return `${prefix}: ${kind} error: ${text}\n${" ".repeat(spaces)}${snippet}\n` +
    `                     (right here) ------^\n`;
}

/**
 * yajl's kind and words for a syntax error (with its JSON5 lexer), from our parser's message.
 * @param message a Json5Error's message
 * @returns the kind and the words
 */
export function yajlText(message: string): [string, string] {
  if (message.startsWith("Expected the end")) return ["parse", "trailing garbage"];
  if (message.startsWith("Expected ':'")) {
    return ["parse", "object key and value must be separated by a colon (':')"];
  }
  if (message.startsWith("Expected an object key")) {
    return ["lexical", "invalid char in json text."];
  }
  if (message.startsWith("Expected ',' or '}'")) {
    return ["parse", "after key and value, inside map, I expect ',' or '}'"];
  }
  if (message.startsWith("Expected ',' or ']'")) {
    return ["parse", "after array element, I expect ',' or ']'"];
  }
  return ["parse", message.replace(/ but found .*/, "")];
}

/**
 * yajl's kind, words and offset for a value that does not start as JSON5 allows at `at`:
 * a word that begins like true, false or null is an "invalid string" where it stops
 * matching; a sign without digits a malformed number; another character an invalid char.
 * @param json the text
 * @param at where our parser found no value
 * @returns kind, words and yajl's offset; undefined when another rule applies
 */
export function yajlValueError(json: string, at: number): [string, string, number] | undefined {
  const c = json[at];
  if (c === undefined) return undefined;
  const word = ["true", "false", "null"].find((w) => w[0] === c);
  if (word) {
    let k = 1;
    while (k < word.length && json[at + k] === word[k]) k++;
    return ["lexical", "invalid string in json text.", at + k];
  }
  if ((c === "-" || c === "+") && !/[0-9.IN]/.test(json[at + 1] ?? "")) {
    return [
      "lexical",
      "malformed number, a digit is required after the plus/minus sign.",
      at + 1,
    ];
  }
  if (/[A-Za-z_$\\]/.test(c)) return ["lexical", "invalid char in json text.", at + 1];
  return undefined;
}
