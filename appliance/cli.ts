#!/usr/bin/env node
// The installed `junction` command (package.json "bin"); the CLI itself is main/cli.ts.
import './main/cli.js';
