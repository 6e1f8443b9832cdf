import { useEffect, useState } from 'preact/hooks';

/** The time now, re-read every `intervalMs`: for countdowns and ages. */
export function useNow(intervalMs: number): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}
