// Pages refresh themselves while they are open: `every` runs a refresh now and then again
// after each one finishes (never two at once), until the page is left.

export function every(milliseconds, refresh) {
  let stopped = false;
  let timer;
  const tick = async () => {
    try {
      await refresh();
    } finally {
      if (!stopped) timer = setTimeout(tick, milliseconds);
    }
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
