export { setup as default } from './packaged-prod';
