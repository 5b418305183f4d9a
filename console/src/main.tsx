import { render } from 'preact';
import { App } from './app';
import { interceptLinks } from './navigation';

interceptLinks(document);
const root = document.getElementById('app');
if (root) render(<App />, root);
