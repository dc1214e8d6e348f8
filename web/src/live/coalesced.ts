/**
 * Runs `task` when asked, never twice at once: asks that arrive while it runs fold into one more
 * run after it, started no sooner than `minGapMs` after the previous one began. Events can arrive
 * by the thousand; the reads they trigger stay bounded while the page still catches up at once.
 */
export function coalesced(task: () => Promise<void>, minGapMs = 200): () => void {
  let running = false;
  let again = false;
  const run = async () => {
    running = true;
    do {
      again = false;
      const began = Date.now();
      await task();
      if (again) await new Promise((resolve) => setTimeout(resolve, began + minGapMs - Date.now()));
    } while (again);
    running = false;
  };
  return () => {
    if (running) again = true;
    else void run();
  };
}
