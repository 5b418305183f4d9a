export { setup as default } from './packaged-stages';
