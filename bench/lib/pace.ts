/**
 * How the bench's Mistral stand-in answers: like a real model, not a closed loop at saturation (DESIGN.md,
 * "Budgets and goals"). The first text arrives 200 ms after the request, then 39 more text chunks 20 ms
 * apart (40 text chunks of 8 characters), then `[DONE]`: a reply takes about one second.
 */
const CHUNKS = 40;
const CHUNK_CHARS = 8;

export const PACE = {
  firstTextMs: 200,
  chunkIntervalMs: 20,
  textChunks: CHUNKS,
  chunkChars: CHUNK_CHARS,
  /** 320 characters: exactly CHUNKS chunks of CHUNK_CHARS. */
  text: 'Our opening hours on Saturdays are 9:00 to 17:00. '.repeat(8).slice(0, CHUNKS * CHUNK_CHARS),
  /** Request → `[DONE]` when nothing else waits. */
  get replyMs(): number {
    return this.firstTextMs + CHUNKS * this.chunkIntervalMs;
  },
} as const;
