/**
 * How the bot words things for people: a config value as messages show it. (The commands a person runs next and
 * the log line of an event join it as the run's text moves out of the run.)
 */

/** A config value as messages show it: quoted, or "unset". */
export function shown(value: string | undefined): string {
    return value === undefined ? "unset" : JSON.stringify(value);
}
