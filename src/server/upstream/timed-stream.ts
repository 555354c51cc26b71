/** A response body that sends pre-built SSE frames one by one with a pause between them, as a model streams. */

function abortError(): DOMException {
  return new DOMException('The operation was aborted.', 'AbortError');
}

/**
 * The first frame goes at once, frame `i` (i ≥ 1) after a pause of `delay` ms (a number, or a function of the
 * frame's index for a varying pace); aborting `signal` errors the stream.
 */
export function timedStream(
  frames: string[],
  delay: number | ((index: number) => number),
  signal: AbortSignal | undefined,
): ReadableStream<Uint8Array> {
  const pause = typeof delay === 'number' ? () => delay : delay;
  const encoder = new TextEncoder();
  let i = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;
  let onAbort: (() => void) | undefined;
  const cleanup = () => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (frames.length === 0) return controller.close();
      onAbort = () => {
        cleanup();
        controller.error(abortError());
        wake?.();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    },
    pull(controller) {
      return new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(() => {
          controller.enqueue(encoder.encode(frames[i++]));
          if (i >= frames.length) {
            cleanup();
            controller.close();
          }
          resolve();
        }, i === 0 ? 0 : pause(i));
      });
    },
    cancel: cleanup,
  });
}
