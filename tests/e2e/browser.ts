import { existsSync } from "node:fs";

export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * Debian's Chromium with the flags these machines need. Playwright gives every
 * launch its own fresh temporary profile (--user-data-dir), and refuses one
 * passed here, so none is.
 */
export function chromiumArgs(): string[] {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium is not at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` (never \`npx playwright install\`).`);
  }
  return [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ];
}
