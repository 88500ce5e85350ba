// Sentences from different strings shown side by side: English and Korean put a space between them,
// but a Japanese sentence ending in 。 (or a closing bracket after it) already carries its spacing,
// and a space there reads as a typo to a Japanese reader.
const FULL_WIDTH_END = /[。！？」』）]$/;

/** The sentences as one text, each separated the way its own script separates sentences. */
export function sentences(...parts: (string | null | undefined | false)[]): string {
  return parts.filter((p): p is string => !!p).reduce((text, part) => (!text ? part : FULL_WIDTH_END.test(text) ? text + part : `${text} ${part}`), '');
}
