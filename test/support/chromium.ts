/** Headless Chromium for the report pages' browser tests (Debian's `chromium`). */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Chromium from LEAKHUNT_CHROMIUM, else the first of the usual names on PATH. */
export function findChromium(): string | undefined {
  const candidates = process.env.LEAKHUNT_CHROMIUM ? [process.env.LEAKHUNT_CHROMIUM] : [];
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome']) candidates.push(join(dir, name));
  }
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

