#!/usr/bin/env node
// The `flowrunner` command: runs the CLI built in dist/ (built first when missing or stale).
import { load } from './load.mjs';

const { main } = await load('cli');
process.exitCode = await main(process.argv.slice(2));
