/**
 * Debian's Chromium, driven by playwright-core (TOOLCHAIN.md: a test tool's own browser download does
 * not work here). A missing browser fails the test that needs it, saying how to install it: a browser
 * test skipped for want of a browser would pass without having checked anything.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
