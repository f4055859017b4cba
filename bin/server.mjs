#!/usr/bin/env node
// `npm start`: the local server (infra/local/main.ts), run from dist/ (built first when missing or
// stale). package.json starts it with `exec`, so that the shell npm runs scripts in gives way to
// this process and the SIGTERM or SIGINT that npm forwards reaches the server, which stops.
import { load } from './load.mjs';

await load('server');
