import { render } from 'preact';
import { loadConfig } from './api.js';
import { App } from './app.js';
import { interceptLinks } from './router.js';
import './style.css';

interceptLinks();
await loadConfig();
render(<App />, document.getElementById('app')!);
