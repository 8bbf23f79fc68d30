#!/usr/bin/env node
// Bundles the viewer's front end into dist/web (replaced by the viewer's real build once it lands).
import { existsSync } from 'node:fs';
if (!existsSync('src/viewer/web')) process.exit(0);
